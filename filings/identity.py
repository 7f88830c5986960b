"""The optional `identity` object of a customer profile: what a regulatory file needs to name the
customer (ignored by the customer stage). Contract: docs/events.md, customer-profile.v1 schema.

`id_type` is a code of the specification's identity-document table (configured in
`[codes] id_types`); a code ending in 9999 ("other") needs `id_type_other`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from filings.errors import InvalidInput

Name = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^\S(.*\S)?$")]
IdNumber = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^\S(.*\S)?$")]
IdType = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
Contact = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^\S(.*\S)?$")]
Alpha2 = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class PersonId(BaseModel):
    """A named person or body with one identity document."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: Name
    id_type: IdType
    id_number: IdNumber
    id_type_other: Name | None = None

    @model_validator(mode="after")
    def _other(self) -> PersonId:
        if self.id_type.endswith("9999") and not self.id_type_other:
            raise ValueError(f"id_type {self.id_type} (other) needs id_type_other")
        return self


class Identity(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    legal_name: Name
    id_type: IdType
    id_number: IdNumber
    id_type_other: Name | None = None
    nationality: Alpha2 | None = None  # default: the profile's `country`
    occupation_code: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None  # GB/T 6565-2015 (individuals)
    industry_code: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None  # GB/T 4754-2011 (entities)
    phones: tuple[Contact, ...] = Field(default=(), max_length=10)
    addresses: tuple[Contact, ...] = Field(default=(), max_length=10)
    other_contacts: tuple[Contact, ...] = Field(default=(), max_length=10)
    legal_representative: PersonId | None = None  # entities
    controllers: tuple[PersonId, ...] = Field(default=(), max_length=20)  # entities: controlling holders / beneficial owners

    @model_validator(mode="after")
    def _other(self) -> Identity:
        if self.id_type.endswith("9999") and not self.id_type_other:
            raise ValueError(f"id_type {self.id_type} (other) needs id_type_other")
        return self


def parse_identity(doc: Any, customer_id: str, known_id_types: set[str] | frozenset[str]) -> Identity:
    """The profile's `identity` value -> Identity, or InvalidInput('invalid_identity')."""
    try:
        identity = Identity.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "identity"
        raise InvalidInput("invalid_identity", f"identity.{where}: {first['msg']}", customer_id) from None
    for code in [identity.id_type] + [p.id_type for p in (identity.legal_representative, *identity.controllers) if p is not None]:
        if code not in known_id_types:
            raise InvalidInput("invalid_identity", f"id_type {code!r} is not in the configured code table (codes.id_types)", customer_id)
    return identity
