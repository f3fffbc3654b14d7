"""items, item and account: browsing the CryptoGig catalogue and the seller account."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.clients.cryptogig import Item
from bot.core import formatting as fmt
from bot.core.common import ITEM_ID, PAGE
from bot.core.i18n import _, ngettext
from bot.core.messages import Button, Field, Reply, Request
from bot.core.registry import CommandGroup, Scope

if TYPE_CHECKING:
    from bot.core.services import Services

PAGE_SIZE = 5

commands = CommandGroup()


def _price_line(item: Item) -> str:
    regular = fmt.money(item.price.regular, item.currency)
    if item.price.extended is None:
        return regular
    # Translators: an item's prices: {regular} for the regular licence, {extended} for the extended licence
    return _("{regular} (extended {extended})").format(
        regular=regular, extended=fmt.money(item.price.extended, item.currency)
    )


@commands.command(args=(PAGE,), slow=True)
async def items(request: Request, services: Services) -> Reply:
    """Browse the catalogue.

    A page at a time, with buttons to page and to open an item.
    """
    catalogue = await services.cryptogig.items()
    if not catalogue:
        return Reply(_("The catalogue is empty for now."))
    pages = (len(catalogue) + PAGE_SIZE - 1) // PAGE_SIZE
    asked = request.values.get("page", 1)
    page = min(asked, pages)
    shown = catalogue[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    lines = [
        f"#{item.id} {fmt.clip(item.name, 80)} — {_price_line(item)}"
        + (f" · {fmt.clip(item.category, 40)}" if item.category else "")
        for item in shown
    ]
    if asked > pages:  # said, not silently swapped: the reader asked for a page that is not there
        # Translators: {asked} is the page the reader asked for, {pages} how many there are (the last is shown)
        past = ngettext(
            "There is no page {asked}: the catalogue has {pages} page. Here it is.",
            "There is no page {asked}: the catalogue has {pages} pages. Here is the last one.",
            pages,
        )
        lines.insert(0, past.format(asked=asked, pages=pages) + "\n")
    nav = []
    if page > 1:
        # Translators: a button label: the previous page
        nav.append(Button(_("◀ Previous"), f"items {page - 1}", edits=True))
    if page < pages:
        # Translators: a button label: the next page
        nav.append(Button(_("Next ▶"), f"items {page + 1}", edits=True))
    details = [Button(f"#{item.id}", f"item {item.id}") for item in shown]
    return Reply(
        title=_("Items (page {page} of {pages})").format(page=page, pages=pages),
        text="\n".join(lines),
        # Translators: {count} is how many items the catalogue has; keep "/item <id>" as it is (a command)
        footer=ngettext(
            "{count} item · /item <id> for details", "{count} items · /item <id> for details", len(catalogue)
        ).format(count=len(catalogue)),
    ).with_buttons(details, nav)


@commands.command(args=(ITEM_ID,), slow=True)
async def item(request: Request, services: Services) -> Reply:
    """Show one item with its image and prices.

    In full: image, description, category, tags, prices, demo, published date.
    """
    found = await services.cryptogig.item(request.values["item_id"])
    fields = [Field(_("Price"), _price_line(found))]
    if found.category:
        category = found.category + (f" › {found.sub_category}" if found.sub_category else "")
        fields.append(Field(_("Category"), fmt.clip(category, 100)))
    if found.version:
        # Translators: a field name: the item's software version
        fields.append(Field(_("Version"), fmt.clip(found.version, 30)))
    if found.tags:
        fields.append(Field(_("Tags"), fmt.clip(", ".join(found.tags), 200), inline=False))
    if found.published_at:
        # Translators: a field name: the day the item was published
        fields.append(Field(_("Published"), fmt.day(found.published_at)))
    if found.media.preview_audio:
        fields.append(Field(_("Audio preview"), found.media.preview_audio, inline=False))
    if found.media.preview_video:
        fields.append(Field(_("Video preview"), found.media.preview_video, inline=False))
    if found.media.screenshots:
        # Translators: a field name: its value is how many screenshots the item has
        fields.append(Field(_("Screenshots"), str(len(found.media.screenshots))))
    # Translators: a button label: opens the item's live demo (a link)
    buttons = [Button(_("Live demo"), url=found.demo_link)] if found.demo_link else []
    return Reply(
        title=f"#{found.id} {fmt.clip(found.name, 200)}",
        text=fmt.clip(found.description or "", 1500),
        fields=tuple(fields),
        image_url=found.image_url,
        url=found.demo_link,
    ).with_buttons(buttons, [Button(_("Back to items"), "items")])


@commands.command(scope=Scope.ADMIN, private=True, slow=True)
async def account(request: Request, services: Services) -> Reply:
    """Show the seller account (admins).

    The account behind the API key, never the key itself.
    """
    details = await services.cryptogig.account()
    fields = [
        Field(_("Username"), details.username or "—"),
        Field(_("Email"), details.email or "—"),
        # Translators: a field name: the money in the seller account
        Field(_("Balance"), fmt.money(details.balance, details.currency)),
    ]
    if details.registered_at:
        # Translators: a field name: the day the seller account was registered
        fields.append(Field(_("Registered"), fmt.day(details.registered_at)))
    if details.profile.heading:
        # Translators: a field name: the heading of the seller's public profile
        fields.append(Field(_("Profile"), fmt.clip(details.profile.heading, 200), inline=False))
    return Reply(
        # Translators: a title; {name} is the seller account's display name
        title=_("Account: {name}").format(name=fmt.clip(details.display_name, 100)),
        fields=tuple(fields),
        thumbnail_url=details.profile.media.avatar,
    )
