"""Business/product (业务) factor: the products the customer uses, points per product."""

from __future__ import annotations

from typing import Any

from factors.standard import Standard
from factors.view import CustomerView, Measurement

GROUP = "business"


def products(view: CustomerView, params: dict[str, Any], standard: Standard) -> Measurement | None:
    """Sum of the standard's points for each product used, capped at `max_points`."""
    if view.profile is None or not view.profile.products:
        return None
    table = standard.tables.get("products", {})
    scored = {p: table.get(p, 0.0) for p in sorted(set(view.profile.products))}
    total = min(sum(scored.values()), float(params.get("max_points", 1e9)))
    return Measurement(total, {"products": scored})


FACTORS = (("products", GROUP, "Products and services used (自助、电子银行、跨境汇款、票据、代理、投资、团体、无记名、汇兑)", products),)
