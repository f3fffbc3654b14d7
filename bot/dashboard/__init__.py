"""The staff desk: a web dashboard of buyers, places and numbers, for GAVEL_ADMINS only, signed in through the bot.

``command.py`` is /dashboard (a one-time sign-in link); ``signin.py`` who is signed in; ``desk.py`` what every page
shares (the 404 gate, CSRF, headers, templates); ``pages.py`` and ``transfer.py`` the pages; ``web.py`` the routes and
serving them beside the bot (``gavel run`` with DASHBOARD_PORT set).
"""
