"""The network typologies by id: their member shapes and injections."""

from __future__ import annotations

from synthbank.typologies import flows, groups, pairs

NETWORK_TYPOLOGIES = (
    "cycle",
    "layering_chain",
    "scatter_gather",
    "gather_scatter",
    "closed_group",
    "small_set_fan_in",
    "small_set_fan_out",
    "transfer_splitting",
    "high_risk_exposure",
)
SHAPES = {
    "cycle": flows.cycle_shape,
    "layering_chain": flows.chain_shape,
    "scatter_gather": flows.scatter_gather_shape,
    "gather_scatter": flows.gather_scatter_shape,
    "closed_group": groups.closed_group_shape,
    "small_set_fan_in": groups.fan_in_shape,
    "small_set_fan_out": groups.fan_out_shape,
    "transfer_splitting": pairs.splitting_shape,
    "high_risk_exposure": pairs.exposure_shape,
}
INJECT = {
    "cycle": flows.cycle,
    "layering_chain": flows.layering_chain,
    "scatter_gather": flows.scatter_gather,
    "gather_scatter": flows.gather_scatter,
    "closed_group": groups.closed_group,
    "small_set_fan_in": groups.small_set_fan_in,
    "small_set_fan_out": groups.small_set_fan_out,
    "transfer_splitting": pairs.transfer_splitting,
    "high_risk_exposure": pairs.high_risk_exposure,
}
