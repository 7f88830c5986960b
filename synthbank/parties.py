"""Counterparties outside the bank: stable ids, names, account numbers and banks, and the name
variants a few of their legs carry instead of an id.

Every external party a customer transfers money with (employers, clients, suppliers, landlords,
relatives, utilities, acquirers, injected accomplices, ...) is a `Party`: its legs carry
`counterparty_id` (the party id), `counterparty_account` (its account number),
`counterparty_name` and `counterparty_bank`, the same on every leg. On `NAME_VARIANT_SHARE` of the
legs of parties that have variants, the id and account are missing and the name is written as
the sending bank booked it: with a full-width or half-width bracket, letters or digits, a space
inside or around it, or another letter case (one party, several spellings: canonicalisation
matters). Card payments name a merchant by its id only (`M000001`); customers of the bank are
parties too (id = customer_id, account = their account id, never a variant).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

NAME_VARIANT_SHARE = 0.03

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉建国海波斌宇浩凯健俊帆帅旭宁龙林欣怡佳琪梓涵子轩雨晨思远文博一诺"
CITIES = ("上海", "北京", "深圳", "广州", "杭州", "苏州", "南京", "宁波", "无锡", "成都", "武汉", "天津", "青岛", "厦门", "东莞", "佛山", "合肥", "长沙", "郑州", "西安")
BRANDS = "华信达兴隆泰丰源鑫盛恒通宏宇瑞祥嘉德安康永顺金鼎汇聚富利佳诚博远创新中正天海"
LATIN_BRANDS = ("ABC", "TCL", "K&M", "UNI", "Sino", "Asia Pacific", "Eastern", "Golden Bridge", "Smart", "Blue Sky", "iTech", "GoodFood")
TRADES = ("贸易", "商贸", "科技", "实业", "电子", "物流", "建材", "食品", "服装", "机械", "信息技术", "餐饮管理", "文化传媒", "供应链管理", "化工", "五金")
SUFFIXES = ("有限公司", "有限责任公司", "股份有限公司", "（集团）有限公司", "商行", "经营部")
FOREIGN_GIVEN = ("JOHN", "MARY", "DAVID", "LINDA", "MICHAEL", "SARAH", "JAMES", "EMMA", "WEI", "MING", "KENJI", "YUKI", "MIN-JUN", "ANNA", "PETER", "LUCAS")
FOREIGN_FAMILY = ("SMITH", "JOHNSON", "BROWN", "WONG", "CHAN", "LEE", "TANAKA", "SATO", "KIM", "PARK", "MUELLER", "MARTIN", "NGUYEN", "TAN", "LIM", "WILSON")
FOREIGN_FIRMS = ("TRADING LTD", "HOLDINGS LIMITED", "INTERNATIONAL CO., LTD.", "GLOBAL PTE. LTD.", "INC.", "GMBH", "LLC", "IMPORT EXPORT LTD")
DOMESTIC_BANKS = (
    ("中国工商银行", "6222", 30),
    ("中国建设银行", "6217", 25),
    ("中国农业银行", "6228", 20),
    ("中国银行", "6216", 15),
    ("交通银行", "6222", 8),
    ("招商银行", "6214", 10),
    ("中国邮政储蓄银行", "6221", 8),
    ("浦发银行", "6225", 4),
    ("兴业银行", "6229", 4),
    ("中信银行", "6226", 3),
    ("平安银行", "6230", 3),
    ("宁波银行", "6236", 2),
)
FOREIGN_BANKS = ("HSBC", "Citibank N.A.", "Standard Chartered", "DBS Bank", "Bank of America", "MUFG Bank", "Deutsche Bank", "BNP Paribas", "Barclays", "OCBC Bank")
_FULL = {c: chr(ord(c) + 0xFEE0) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789&"}
_FULL_WIDTH = str.maketrans(_FULL | {"(": "（", ")": "）", " ": "\u3000"})
_HALF_WIDTH = str.maketrans({"（": "(", "）": ")", "\u3000": " "} | {v: k for k, v in _FULL.items()})


@dataclass(eq=False)
class Party:
    """A counterparty: `fields` go on every leg that names it by id; `variants` (name-only field
    sets, id and account missing) on `NAME_VARIANT_SHARE` of them; none for customers of the bank."""

    id: str
    name: str
    account: str
    fields: dict = field(repr=False)
    variants: tuple[dict, ...] = field(default=(), repr=False)


def customer_party(customer_id: str, account: str) -> Party:
    return Party(customer_id, "", account, {"counterparty_account": account})


def name_variants(rng: random.Random, name: str) -> list[str]:
    """Spellings of one name as other banks book it: width, spacing and letter case."""
    out = [name]
    has_latin = any(c.isascii() and c.isalpha() for c in name)
    has_bracket = any(c in "()（）" for c in name)
    if has_latin or has_bracket or any(c.isdigit() for c in name):
        out.append(name.translate(_FULL_WIDTH) if rng.random() < 0.5 else name.translate(_HALF_WIDTH))
    if has_latin:
        out.append(name.upper() if name != name.upper() else name.title())
    if len(name) >= 2 and not name.isascii():
        cut = 1 if len(name) <= 4 else rng.randint(2, len(name) - 2)
        out.append(name[:cut] + rng.choice((" ", "\u3000")) + name[cut:])
    out.append(name + " ")
    return list(dict.fromkeys(out))


class Parties:
    """Builds external parties with names, account numbers and banks, deterministic for the rng."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.serial = 0
        self.banks = [b for b in DOMESTIC_BANKS for _ in range(b[2])]

    def person_name(self) -> str:
        r = self.rng
        given = r.choice(GIVEN) + (r.choice(GIVEN) if r.random() < 0.7 else "")
        return r.choice(SURNAMES) + given

    def firm_name(self) -> str:
        r = self.rng
        brand = r.choice(LATIN_BRANDS) if r.random() < 0.15 else r.choice(BRANDS) + r.choice(BRANDS)
        return r.choice(CITIES) + ("市" if r.random() < 0.2 else "") + brand + r.choice(TRADES) + r.choice(SUFFIXES)

    def foreign_name(self, firm: bool) -> str:
        r = self.rng
        if firm:
            return f"{r.choice(LATIN_BRANDS).upper()} {r.choice(FOREIGN_FAMILY)} {r.choice(FOREIGN_FIRMS)}"
        return f"{r.choice(FOREIGN_GIVEN)} {r.choice(FOREIGN_FAMILY)}"

    def new(self, pid: str, kind: str = "person", name: str | None = None, extra: dict | None = None, variants: bool = True) -> Party:
        """kind: person | firm | foreign_person | foreign_firm. `extra` (e.g. cross-border fields)
        goes on every leg, also the name-only ones."""
        r = self.rng
        self.serial += 1
        foreign = kind.startswith("foreign")
        if name is None:
            name = self.foreign_name(kind == "foreign_firm") if foreign else self.firm_name() if kind == "firm" else self.person_name()
        if foreign:
            bank = r.choice(FOREIGN_BANKS)
            account = f"{r.randint(10, 99)}{self.serial:010d}"
        else:
            bank, bin4, _ = r.choice(self.banks)
            account = f"{bin4}{r.randint(100, 999)}{self.serial:012d}" if kind == "person" else f"{r.randint(31, 44)}{r.randint(1000, 9999)}{self.serial:013d}"
        fields = {"counterparty_account": account, "counterparty_name": name, "counterparty_bank": bank} | (extra or {})
        spelled = tuple({"counterparty_name": v, "counterparty_bank": bank} | (extra or {}) for v in name_variants(r, name)) if variants else ()
        return Party(pid, name, account, fields, spelled)
