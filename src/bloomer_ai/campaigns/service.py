"""Campaign suggestions: the next occasions of the shop's calendar, the audience that
should hear of each, when to send and what to say (docs/campaigns.md).

Everything comes from the shop's own data by rules (``rules/``); the AI provider may only
rewrite the copy (``providers/``), and the rules' copy stands when it fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bloomer_ai.agent.providers.base import ProviderError
from bloomer_ai.campaigns.errors import UnknownOccasion
from bloomer_ai.campaigns.providers import (
    CopyDraft,
    CopyRequest,
    CopyWriter,
    ShopFacts,
    acceptable,
)
from bloomer_ai.campaigns.repository import (
    EVERYONE,
    CampaignRepository,
    Channel,
    OccasionBuyers,
    OccasionWindow,
    Reach,
)
from bloomer_ai.campaigns.rules.copy import write_copy
from bloomer_ai.campaigns.rules.occasions import (
    OccasionDay,
    occasion_keys,
    occasion_on,
    occasions_in_year,
)
from bloomer_ai.campaigns.rules.segments import (
    DESCRIPTIONS,
    HISTORY_SEGMENTS,
    OCCASION_LOOKBACK,
    OCCASION_WINDOW_DAYS,
    WEIGHTS,
    Segment,
)
from bloomer_ai.campaigns.rules.send_time import (
    DEFAULT_RHYTHM,
    MIN_ORDERS,
    Rhythm,
    rhythm_of,
    send_moment,
)
from bloomer_ai.campaigns.rules.text import english_date_with_year, plural_weekday
from bloomer_ai.shops import service as shops

log = structlog.get_logger("bloomer_ai.campaigns")

DEFAULT_LANGUAGES = {
    "NL": "nl",
    "BE": "nl",
    "DE": "de",
    "AT": "de",
    "CH": "de",
    "FR": "fr",
    "LU": "fr",
    "MC": "fr",
}
YEARS_AHEAD = 3  # how far a named occasion's next date is looked for
CHANNEL_WORDS = {"email": "e-mail", "sms": "SMS"}
ADDRESS_WORDS = {"email": "e-mail address", "sms": "phone number"}
LABELS = {
    Segment.CHAMPIONS: "champions",
    Segment.LOYAL: "loyal",
    Segment.RECENT_FIRST_TIME: "recent first-time",
    Segment.AT_RISK: "at-risk",
    Segment.LAPSED: "lapsed",
}


@dataclass(frozen=True, slots=True)
class SuggestionQuery:
    occasion: str | None = None
    audience_type: Segment | None = None
    channel: Channel = "email"
    language: str | None = None
    limit: int = 3


@dataclass(frozen=True, slots=True)
class Suggestion:
    occasion: OccasionDay
    occasion_name: str
    channel: Channel
    language: str
    subject: str
    body_preview: str
    segment: Segment
    description: str
    estimated_size: int
    excluded_without_consent: int
    suggested_time: datetime
    rationale: str
    source: str


@dataclass(frozen=True, slots=True)
class _Upcoming:
    day: OccasionDay
    last_time: date | None
    windows: list[OccasionWindow]


def default_language(country: str) -> str:
    return DEFAULT_LANGUAGES.get(country, "en")


def shop_zone(timezone: str) -> ZoneInfo:
    """The shop's time zone; UTC when its name is unusable."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def suggest_campaigns(
    session: AsyncSession, query: SuggestionQuery, *, writer: CopyWriter, now: datetime
) -> list[Suggestion]:
    """Ranked suggestions for the session's shop (docs/campaigns.md says how)."""
    shop = await shops.shop_profile(session)
    zone = shop_zone(shop.timezone)
    language = query.language or default_language(shop.country)
    targets = _targets(shop.country, query, now, zone)

    repository = CampaignRepository(session)
    history = await repository.customer_history(query.channel, now, zone)
    windows = [window for target in targets for window in target.windows]
    buyers = await repository.occasion_buyers(query.channel, windows)
    reach, hours = history.reach, history.hours
    if writer.remote:
        # Read-only, and done reading: the connection goes back to the pool rather than
        # wait for the provider.
        await session.close()

    shop_rhythm = rhythm_of(hours.get(EVERYONE, {}), "shop") or DEFAULT_RHYTHM
    suggestions: list[Suggestion] = []
    for target in targets:
        occasion_buyers = buyers.get(target.day.key, OccasionBuyers(Reach(), Reach()))
        audiences = {
            segment: _segment_reach(segment, reach, occasion_buyers) for segment in Segment
        }
        ranked = _rank(audiences, query.audience_type)
        picked = ranked if query.occasion is not None else ranked[:1]
        for segment in picked:
            rhythm = _rhythm_for(segment, hours, shop_rhythm)
            moment = send_moment(target.day.date, rhythm, query.channel, now, zone)
            assert moment is not None  # an upcoming occasion has a moment (_targets)
            suggestions.append(
                _suggestion(
                    shop_name=shop.name,
                    country=shop.country,
                    zone=zone,
                    target=target,
                    segment=segment,
                    audience=audiences[segment],
                    occasion_buyers=occasion_buyers,
                    everyone=reach.get(EVERYONE, Reach()),
                    rhythm=rhythm,
                    moment=moment,
                    channel=query.channel,
                    language=language,
                )
            )
    if query.occasion is None:
        suggestions.sort(key=lambda s: (s.suggested_time, s.occasion.date))
    suggestions = suggestions[: query.limit]
    facts = ShopFacts(str(shop.id), shop.name, shop.country, zone.key)
    return await _rewritten(writer, facts, query.channel, language, suggestions)


# --- which occasions --------------------------------------------------------------------------


def _targets(
    country: str, query: SuggestionQuery, now: datetime, zone: ZoneInfo
) -> list[_Upcoming]:
    today = now.astimezone(zone).date()
    if query.occasion is not None and query.occasion not in occasion_keys(country, today.year):
        raise UnknownOccasion(
            details=[
                {
                    "field": "body.occasion",
                    "message": f"not an occasion in {country}; one of "
                    + ", ".join(occasion_keys(country, today.year)),
                    "type": "unknown_occasion",
                }
            ]
        )
    found: list[OccasionDay] = []
    for year in range(today.year, today.year + YEARS_AHEAD + 1):
        for day in occasions_in_year(country, year):
            if query.occasion is not None and day.key != query.occasion:
                continue
            if any(seen.key == day.key for seen in found):
                continue
            if send_moment(day.date, DEFAULT_RHYTHM, query.channel, now, zone) is None:
                continue  # too late for this time; its next date counts
            found.append(day)
        wanted = 1 if query.occasion is not None else query.limit
        if len(found) >= wanted:
            found = found[:wanted]
            break
    return [_with_windows(country, day, zone) for day in found]


def _with_windows(country: str, day: OccasionDay, zone: ZoneInfo) -> _Upcoming:
    """The occasion with the windows of its last ``OCCASION_LOOKBACK`` times: the
    ``OCCASION_WINDOW_DAYS`` days before it and the day itself, in the shop's time zone."""
    windows: list[OccasionWindow] = []
    last_time: date | None = None
    for year in range(day.date.year - 1, day.date.year - 1 - OCCASION_LOOKBACK, -1):
        earlier = occasion_on(country, day.key, year)
        if earlier is None:
            continue
        starts = datetime.combine(
            earlier.date - timedelta(days=OCCASION_WINDOW_DAYS), time(), tzinfo=zone
        )
        ends = datetime.combine(earlier.date + timedelta(days=1), time(), tzinfo=zone)
        windows.append(OccasionWindow(day.key, starts, ends, latest=last_time is None))
        last_time = last_time or earlier.date
    return _Upcoming(day, last_time, windows)


# --- which audience ---------------------------------------------------------------------------


def _segment_reach(segment: Segment, reach: dict[str, Reach], buyers: OccasionBuyers) -> Reach:
    if segment is Segment.ORDERED_FOR_LAST_OCCASION:
        return buyers.latest
    if segment is Segment.NEVER_ORDERED_FOR_OCCASION:
        return reach.get(EVERYONE, Reach()) - buyers.ever
    return reach.get(segment.value, Reach())


def _rank(audiences: dict[Segment, Reach], only: Segment | None) -> list[Segment]:
    """Segments by expected response: weight × customers reachable, then weight × all of
    them (so a shop without consents still sees where its customers are); empty segments
    last, kept only when nothing else is left."""
    if only is not None:
        return [only]

    def score(segment: Segment) -> tuple[float, float]:
        audience = audiences[segment]
        return (WEIGHTS[segment] * audience.reachable, WEIGHTS[segment] * audience.total)

    ranked = sorted(Segment, key=score, reverse=True)
    filled = [segment for segment in ranked if audiences[segment].total > 0]
    return filled or ranked[:1]


def _rhythm_for(
    segment: Segment, hours: dict[str, dict[tuple[int, int], int]], shop_rhythm: Rhythm
) -> Rhythm:
    if segment in HISTORY_SEGMENTS:
        own = rhythm_of(hours.get(segment.value, {}), "segment")
        if own is not None:
            return own
    return shop_rhythm


# --- the suggestion ---------------------------------------------------------------------------


def _suggestion(
    *,
    shop_name: str,
    country: str,
    zone: ZoneInfo,
    target: _Upcoming,
    segment: Segment,
    audience: Reach,
    occasion_buyers: OccasionBuyers,
    everyone: Reach,
    rhythm: Rhythm,
    moment: datetime,
    channel: Channel,
    language: str,
) -> Suggestion:
    day = target.day
    copy = write_copy(
        shop_name=shop_name,
        occasion_name=day.name(language),
        occasion_date=day.date,
        segment=segment,
        channel=channel,
        language=language,
        country=country,
    )
    rationale = " ".join(
        [
            f"{day.name('en')} is {english_date_with_year(day.date)}.",
            _history_sentence(target, occasion_buyers),
            _audience_sentence(segment, audience, everyone),
            _consent_sentence(audience, channel),
            _time_sentence(rhythm, moment, day.date, zone, channel),
        ]
    )
    return Suggestion(
        occasion=day,
        occasion_name=day.name(language),
        channel=channel,
        language=language,
        subject=copy.subject,
        body_preview=copy.body_preview,
        segment=segment,
        description=DESCRIPTIONS[segment],
        estimated_size=audience.reachable,
        excluded_without_consent=audience.without_consent,
        suggested_time=moment,
        rationale=" ".join(rationale.split()),
        source="rules",
    )


def _customers(count: int) -> str:
    return f"{count} customer" if count == 1 else f"{count} customers"


def _history_sentence(target: _Upcoming, buyers: OccasionBuyers) -> str:
    if target.last_time is None:
        return ""
    count = buyers.latest.total
    who = "No customer" if count == 0 else _customers(count)
    return (
        f"{who} ordered in the three weeks before it in {target.last_time.year} "
        f"({english_date_with_year(target.last_time)})."
    )


def _audience_sentence(segment: Segment, audience: Reach, everyone: Reach) -> str:
    if segment is Segment.ORDERED_FOR_LAST_OCCASION:
        return ""  # the sentence before counts them
    if segment is Segment.NEVER_ORDERED_FOR_OCCASION:
        return (
            f"{_customers(audience.total)} of the {everyone.total} who have ordered never "
            "ordered in the three weeks before it in the last five years."
        )
    return f"The {LABELS[segment]} segment has {_customers(audience.total)}."


def _consent_sentence(audience: Reach, channel: Channel) -> str:
    words = CHANNEL_WORDS[channel]
    sentence = f"{audience.reachable} of them can be reached by {words}"
    if audience.without_consent:
        sentence += (
            f"; {audience.without_consent} are left out without consent "
            f"({audience.unknown} never asked, {audience.refused} refused)"
        )
    if audience.no_address:
        sentence += f"; {audience.no_address} consented but have no {ADDRESS_WORDS[channel]}"
    return sentence + "."


def _time_sentence(
    rhythm: Rhythm, moment: datetime, occasion_date: date, zone: ZoneInfo, channel: str
) -> str:
    slot = f"{plural_weekday(rhythm.weekday)} {rhythm.hour:02d}:00-{rhythm.hour + 1:02d}:00"
    if rhythm.basis == "default":
        why = (
            f"With fewer than {MIN_ORDERS} orders in the last 365 days there is no telling "
            f"when they order, so the default applies: {slot}"
        )
    else:
        who = "This segment's customers" if rhythm.basis == "segment" else "The shop's customers"
        why = (
            f"{who} order most on {slot} ({zone.key} time; "
            f"{rhythm.orders} orders in the last 365 days)"
        )
    days = (occasion_date - moment.date()).days
    days_ahead = "1 day" if days == 1 else f"{days} days"
    on_rhythm = moment.weekday() == rhythm.weekday and moment.hour == rhythm.hour
    lead = "" if on_rhythm else " (the best moment before it has passed)"
    return (
        f"{why}, so the {CHANNEL_WORDS[channel]} goes out on "
        f"{english_date_with_year(moment.date())} at {moment:%H:%M}, {days_ahead} "
        f"ahead{lead}."
    )


# --- the provider's copy ----------------------------------------------------------------------


async def _rewritten(
    writer: CopyWriter,
    shop: ShopFacts,
    channel: Channel,
    language: str,
    suggestions: Sequence[Suggestion],
) -> list[Suggestion]:
    """The suggestions with the provider's copy where it gave an acceptable one."""
    if not suggestions or not writer.remote:
        return list(suggestions)
    request = CopyRequest(
        shop=shop,
        channel=channel,
        language=language,
        drafts=[
            CopyDraft(
                occasion_key=s.occasion.key,
                occasion_name=s.occasion_name,
                occasion_date=s.occasion.date,
                segment=s.segment.value,
                segment_description=s.description,
                estimated_size=s.estimated_size,
                send_at=s.suggested_time,
                subject=s.subject,
                body_preview=s.body_preview,
            )
            for s in suggestions
        ],
    )
    try:
        copies = await writer.rewrite(request)
    except ProviderError as exc:
        log.warning("campaign_copy_provider_failed", provider=writer.name, error_code=exc.code)
        return list(suggestions)
    result: list[Suggestion] = []
    for suggestion, copy in zip(suggestions, copies, strict=False):
        reason = acceptable(request, copy) if copy is not None else "no copy"
        if copy is None or reason is not None:
            if copy is not None:
                log.info("campaign_copy_rejected", provider=writer.name, reason=reason)
            result.append(suggestion)
            continue
        result.append(
            replace(
                suggestion, subject=copy.subject, body_preview=copy.body_preview, source="provider"
            )
        )
    return result + list(suggestions[len(result) :])
