"""Ordinary typing mistakes in the default scoring standard, each with the TOML path the error
must name. Shared by the model, CLI, hot-reload and settings tests (one list, every entry point).

Each mutation replaces one exact piece of `factors/standards/default.toml`; `mutate` fails loudly
if the default no longer contains it, so the list cannot quietly stop testing anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from factors.standard import DEFAULT_STANDARD_PATH


@dataclass(frozen=True)
class Mutation:
    id: str
    old: str
    new: str
    path: str  # the TOML path the error must name
    secret: str | None = None  # text of the wrong value that must never be printed

    def apply(self, text: str) -> str:
        assert text.count(self.old) == 1, f"{self.id}: the default standard no longer contains {self.old!r} exactly once"
        return text.replace(self.old, self.new)


MUTATIONS = (
    # wrong types
    Mutation("weight_as_word", 'id = "customer_country"\nweight = 1.0', 'id = "customer_country"\nweight = "high"', "factors[0].weight", '"high"'),
    Mutation(
        "band_min_as_word", "bands = [{ min = 0, points = 0 }, { min = 10000,", 'bands = [{ min = "zero", points = 0 }, { min = 10000,', "factors[1].bands[0].min", "zero"
    ),
    Mutation("points_in_words", "points = { default = 10,", 'points = { default = "ten",', "factors[25].points.default", '"ten"'),
    # units and separators in strings
    Mutation(
        "amount_with_separators",
        'severity = "medium"\nthreshold_cny = 50000',
        'severity = "medium"\nthreshold_cny = "50,000"',
        "patterns.same_day_cash.threshold_cny",
        "50,000",
    ),
    Mutation("days_with_unit", "monitoring_days = 90 ", 'monitoring_days = "90d" ', "alerts.monitoring_days", '"90d"'),
    Mutation("cooling_with_unit", "downgrade_cooling_days = 30 ", 'downgrade_cooling_days = "30 days" ', "hysteresis.downgrade_cooling_days", "30 days"),
    Mutation("review_in_words", "months = { prohibited = 6,", 'months = { prohibited = "four years",', "review.months.prohibited", "four years"),
    Mutation(
        "large_value_with_suffix",
        "# rules.0501 = { cny = 50000, usd = 10000 } ... override the PBOC thresholds here if needed",
        'rules.0501 = { cny = "50k" }',
        "large_value.rules.0501.cny",
        "50k",
    ),
    Mutation("fx_rate_with_comma", 'USD = "7.10"', 'USD = "7,10"', "fx.cny_per_unit.USD", "7,10"),
    # unknown keys and sections
    Mutation("misspelt_key", "threshold_cny = 50000\nnear_ratio", "treshold_cny = 50000\nnear_ratio", "patterns.structuring.treshold_cny"),
    Mutation("misspelt_section", "\n[peer]\n", "\n[peers]\n", "peers"),
    Mutation(
        "misspelt_factor_key",
        "average\nmin_peers = 20\nbands = [{ min = 0, points = 0 }, { min = 5, points = 10 }",
        "average\nmin_peer = 20\nbands = [{ min = 0, points = 0 }, { min = 5, points = 10 }",
        "factors[19].min_peer",
    ),
    Mutation("unknown_factor", 'id = "pep"\n', 'id = "pepp"\n', "factors[4].id", "pepp"),
    Mutation("unknown_pattern", "[patterns.night_burst]", "[patterns.night_bust]", "patterns.night_bust"),
    # out-of-range numbers
    Mutation("huge_weight", 'id = "listed"\nbands', 'id = "listed"\nweight = 1e9\nbands', "factors[5].weight", "1000000000"),
    Mutation("huge_points", "bands = [{ min = 1, points = 60 }]", "bands = [{ min = 1, points = 1e308 }]", "factors[5].bands[0].points", "1e+308"),
    Mutation("infinite_cut_off", "min_score = 90", "min_score = inf", "levels[3].min_score"),
    Mutation("negative_count", "min_count = 2\nwindow_hours = 24", "min_count = -2\nwindow_hours = 24", "patterns.structuring.min_count", "= -2"),
    Mutation("share_above_one", "out_ratio = 0.8", "out_ratio = 8.5", "patterns.rapid_in_out.out_ratio", "8.5"),
    # string booleans
    Mutation(
        "string_boolean",
        '[patterns.round_amounts]  # 整数金额交易\nseverity = "low"',
        '[patterns.round_amounts]  # 整数金额交易\nenabled = "false"\nseverity = "low"',
        "patterns.round_amounts.enabled",
    ),
    Mutation(
        "string_boolean_in_list",
        "[lists.countries.drug_trafficking]\npoints = 15",
        '[lists.countries.drug_trafficking]\npoints = 15\nhigh_risk_flows = "yes"',
        "lists.countries.drug_trafficking.high_risk_flows",
    ),
    # values that are strings of the right type but not legal
    Mutation("lowercase_country", 'countries = ["KP", "IR", "CU"', 'countries = ["kp", "IR", "CU"', "lists.countries.sanctioned.countries[0]", '"kp"'),
    Mutation("unknown_timezone", 'timezone = "Asia/Shanghai"', 'timezone = "Asia/Shanghia"', "timezone", "Shanghia"),
    Mutation("unknown_level", 'pep = "watch" ', 'pep = "wacth" ', "hard_rules.pep", "wacth"),
    Mutation(
        "severity_typo",
        'severity = "medium"\nmultiple = 5\nmin_cash_cny',
        'severity = "meduim"\nmultiple = 5\nmin_cash_cny',
        "patterns.peer_cash_outlier.severity",
        "meduim",
    ),
    Mutation("unknown_window", 'window = "30d"', 'window = "2w"', "patterns.frequent_one_off.window", "2w"),
)


def default_text() -> str:
    return DEFAULT_STANDARD_PATH.read_text(encoding="utf-8")


def mutated(*mutations: Mutation) -> str:
    text = default_text()
    for m in mutations:
        text = m.apply(text)
    return text
