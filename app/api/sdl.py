"""The schema as clients see it, for `strawberry export-schema app.api.sdl:schema`."""

from app.api.schema import build_schema
from app.settings import Settings

schema = build_schema(Settings())
