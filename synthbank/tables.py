"""Constants of the synthetic bank: time, FX, country and industry tables, activity hours."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

TZ = timezone(timedelta(hours=8))
DEFAULT_START = datetime(2026, 8, 1, tzinfo=TZ)
DAY_S = 86_400
HOUR = 3_600

# The default standard's FX table (factors/standards/default.toml [fx.cny_per_unit]).
CNY_PER_UNIT = {"CNY": 1.0, "USD": 7.10, "EUR": 7.70, "HKD": 0.91, "JPY": 0.047, "GBP": 9.00, "SGD": 5.30, "AUD": 4.65, "CAD": 5.10, "CHF": 8.10}
# Union of the standard's country lists marked high_risk_flows (sanctioned, FATF call for action,
# FATF increased monitoring, tax havens): ordinary flows never go there.
HIGH_RISK_FLOW_COUNTRIES = frozenset(
    (
        "KP",
        "IR",
        "CU",
        "SY",
        "RU",
        "BY",
        "MM",
        "DZ",
        "AO",
        "BO",
        "BG",
        "CM",
        "CI",
        "CD",
        "HT",
        "KE",
        "LA",
        "LB",
        "MC",
        "NA",
        "NP",
        "SS",
        "VE",
        "VN",
        "YE",
        "VG",
        "KY",
        "BM",
        "BS",
        "PA",
        "SC",
        "MH",
        "WS",
        "VU",
        "AI",
        "TC",
        "JE",
        "GG",
        "IM",
        "LI",
        "BZ",
    )
)
INJECTED_HRJ_COUNTRIES = ("IR", "KP", "MM", "RU", "SY", "BY", "VG", "KY", "PA", "VN", "LA", "KE", "LB", "VE")
# Countries ordinary cross-border flows go to, with their currency.
ORDINARY_ABROAD = {"US": "USD", "HK": "HKD", "GB": "GBP", "SG": "SGD", "JP": "JPY", "AU": "AUD", "CA": "CAD", "DE": "EUR", "FR": "EUR", "KR": "USD", "CH": "CHF"}
HOME_CURRENCY = ORDINARY_ABROAD | {"MX": "USD", "CO": "USD", "PE": "USD", "AF": "USD", "SO": "USD"}

OCCUPATIONS = (
    ("employee", 40.0),
    ("professional", 9.0),
    ("manager", 5.0),
    ("civil_servant", 3.0),
    ("finance_officer", 2.0),
    ("soe_senior", 0.4),
    ("judicial_official", 0.2),
    ("military_official", 0.2),
    ("self_employed", 10.0),
    ("student", 10.0),
    ("retired", 14.0),
    ("farmer", 3.0),
    ("unemployed", 2.4),
    ("pep_domestic", 0.6),
    ("pep_foreign", 0.2),
)
# Monthly net salary: median CNY, log-sigma.
SALARY = {
    "employee": (7_500, 0.45),
    "professional": (14_000, 0.45),
    "manager": (26_000, 0.5),
    "civil_servant": (9_000, 0.3),
    "finance_officer": (12_000, 0.35),
    "soe_senior": (35_000, 0.3),
    "judicial_official": (12_000, 0.3),
    "military_official": (12_000, 0.3),
    "pep_domestic": (20_000, 0.3),
    "pep_foreign": (30_000, 0.4),
}
GOVERNMENT_JOBS = frozenset(("civil_servant", "judicial_official", "military_official", "pep_domestic", "pep_foreign"))
INDIVIDUAL_COUNTRIES = (
    ("CN", 930),
    ("HK", 20),
    ("US", 8),
    ("SG", 6),
    ("GB", 5),
    ("JP", 4),
    ("KR", 4),
    ("AU", 3),
    ("CA", 3),
    ("DE", 2),
    ("FR", 2),
    ("VN", 2),
    ("RU", 2),
    ("MM", 1),
    ("LA", 1),
    ("KE", 1),
    ("NP", 1),
    ("MX", 1),
    ("CO", 1),
    ("PE", 1),
    ("AF", 1),
    ("SO", 1),
)
ENTITY_COUNTRIES = (("CN", 920), ("HK", 40), ("SG", 10), ("US", 7), ("GB", 5), ("JP", 3), ("KR", 3), ("DE", 2))
OFFSHORE_COUNTRIES = (("VG", 40), ("KY", 30), ("BM", 10), ("SC", 10), ("BS", 10))
PEP_FOREIGN_COUNTRIES = (("HK", 30), ("SG", 20), ("US", 15), ("GB", 15), ("JP", 10), ("KR", 10))
# Entity industries (every code of the standard's [industries] table), weight per mille.
INDUSTRIES = (
    ("manufacturing", 140),
    ("retail", 130),
    ("wholesale", 110),
    ("catering", 100),
    ("information_technology", 80),
    ("logistics", 60),
    ("import_export", 50),
    ("real_estate", 40),
    ("agriculture", 30),
    ("education", 30),
    ("healthcare", 30),
    ("finance", 20),
    ("travel_agency", 20),
    ("law_firm", 15),
    ("accounting", 15),
    ("cash_intensive", 15),
    ("investment_advisory", 10),
    ("government", 10),
    ("karaoke", 10),
    ("jewellery", 10),
    ("nightclub", 5),
    ("massage_sauna", 5),
    ("precious_metals", 5),
    ("pawnshop", 5),
    ("lottery", 5),
    ("offshore_company", 6),
    ("money_remitter", 4),
    ("currency_exchange", 4),
    ("art_antiques", 3),
    ("auction_house", 3),
    ("rare_minerals", 3),
    ("casino", 1.5),
    ("gambling", 1),
    ("arms", 0.5),
)
EMPLOYER_INDUSTRIES = (
    ("manufacturing", 20),
    ("information_technology", 12),
    ("retail", 8),
    ("education", 8),
    ("healthcare", 8),
    ("wholesale", 6),
    ("logistics", 6),
    ("finance", 6),
    ("catering", 5),
    ("real_estate", 4),
    ("import_export", 2),
    ("agriculture", 2),
    ("law_firm", 1),
    ("accounting", 1),
    ("investment_advisory", 1),
    ("travel_agency", 1),
)
TRADE_INDUSTRIES = (
    ("retail", 35),
    ("catering", 25),
    ("wholesale", 10),
    ("logistics", 8),
    ("information_technology", 6),
    ("travel_agency", 4),
    ("agriculture", 4),
    ("jewellery", 2),
    ("law_firm", 2),
    ("accounting", 2),
    ("art_antiques", 1),
    ("pawnshop", 1),
)
CONSUMER = frozenset(("retail", "catering", "karaoke", "nightclub", "massage_sauna", "cash_intensive", "travel_agency", "healthcare", "education"))
CONSUMER |= frozenset(("lottery", "pawnshop", "jewellery", "casino", "gambling"))
CASH_BUSINESS = frozenset(("retail", "catering", "karaoke", "nightclub", "massage_sauna", "cash_intensive", "pawnshop", "jewellery", "casino", "gambling", "lottery"))
CROSS_BORDER_SHARE = {
    "import_export": 0.6,
    "offshore_company": 0.5,
    "rare_minerals": 0.3,
    "money_remitter": 0.3,
    "precious_metals": 0.2,
    "art_antiques": 0.2,
    "currency_exchange": 0.2,
    "travel_agency": 0.15,
    "wholesale": 0.1,
    "manufacturing": 0.05,
}
HRJ_ENTITY_INDUSTRIES = frozenset(("import_export", "wholesale", "offshore_company", "money_remitter", "precious_metals", "jewellery", "rare_minerals", "manufacturing"))
PRODUCTS = ("self_service", "e_banking", "cross_border_remittance", "bills", "agency", "investment", "group_business", "bearer", "exchange_remittance")
ACQUIRERS = ("ACQ-UNIONPAY", "ACQ-ALIPAY", "ACQ-WECHATPAY")
REGIONS = 12

# Local hours drawn for card payments (07-22), online transfers (08-21) and counter business (09-16).
CARD_HOURS = tuple(itertools.chain.from_iterable([h] * w for h, w in zip(range(7, 23), (2, 5, 4, 4, 6, 10, 7, 4, 4, 4, 6, 9, 10, 8, 6, 3), strict=True)))
ONLINE_HOURS = tuple(itertools.chain.from_iterable([h] * w for h, w in zip(range(8, 22), (3, 5, 5, 5, 6, 5, 4, 4, 4, 5, 6, 6, 5, 3), strict=True)))
OFFICE_HOURS = tuple(range(9, 17))
