"""Base schemas: camelCase at the edge, snake_case inside; inputs refuse unknown fields."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel


class Schema(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class InputSchema(Schema):
    """A request body: camelCase only (``shop_id`` is an unknown field, as any other),
    unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        extra="forbid",
        str_strip_whitespace=True,
    )


# Dates and times in ISO 8601 text only. pydantic on its own also reads numbers as Unix
# timestamps (`deliveryTo=0` would be 1 January 1970), which the document does not promise.
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_date_text(value: Any) -> Any:
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError("a date as YYYY-MM-DD")


def _iso_datetime_text(value: Any) -> Any:
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATETIME.match(value)):
        return value
    raise ValueError("a date and time in ISO 8601 with its offset, e.g. 2026-12-24T09:00:00+01:00")


IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]
IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_datetime_text)]
