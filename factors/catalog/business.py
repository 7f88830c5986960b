"""Business/product (业务) factor: the products the customer uses, points per product."""

from __future__ import annotations

from typing import TYPE_CHECKING

from factors.catalog.base import FactorDef
from factors.config import FactorParams, Points
from factors.view import CustomerView, Measurement

if TYPE_CHECKING:
    from factors.standard import Standard

GROUP = "business"


class ProductsParams(FactorParams):
    max_points: Points | None = None
    """Cap of the summed product points (none: no cap)."""


def products(view: CustomerView, params: ProductsParams, standard: Standard) -> Measurement | None:
    """Sum of the standard's points for each product used, capped at `max_points`."""
    if view.profile is None or not view.profile.products:
        return None
    table = standard.products
    scored = {p: table.get(p, 0.0) for p in sorted(set(view.profile.products))}
    total = sum(scored.values())
    if params.max_points is not None:
        total = min(total, params.max_points)
    return Measurement(total, {"products": scored})


FACTORS = (
    FactorDef("products", GROUP, "Products and services used (自助、电子银行、跨境汇款、票据、代理、投资、团体、无记名、汇兑)", products, "points", ProductsParams),
)
