"""Input schemas as workflow platforms fill them."""

from __future__ import annotations

from typing import Any

import marshmallow as ma


class BlankIsMissing(ma.Schema):
    """Platforms send "" (or null) for an optional field a user left empty or
    mapped to an empty value: take it as not given, so defaults apply and the
    field's rules (choices, lengths) are not run on a blank. A required field
    keeps its blank, and is refused naming it."""

    @ma.pre_load
    def drop_blanks(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {
            k: v for k, v in data.items() if not (v in ("", None) and k in self.fields and not self.fields[k].required)
        }
