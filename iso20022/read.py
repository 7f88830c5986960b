"""A validated message tree -> plain records (iso20022.model). Element names are the same in every
supported version (pacs.008.001.08-13, camt.054.001.08-14); only the namespace differs."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from lxml import etree

from iso20022.model import Agent, BankTransactionCode, Camt054, CreditTransfer, Declared, EntryLeg, LegHint, Pacs008, Party, Side
from iso20022.parse import PACS008, Message

# the amlstream supplementary-data envelope (SplmtryData/Envlp): <Legs xmlns=ENVELOPE_NS><Leg side= ref= channel= method= orig=/></Legs>
ENVELOPE_NS = "urn:amlstream:iso20022:legs:1"


@functools.lru_cache(maxsize=512)
def _qualified(path: str) -> str:
    return "/".join(f"d:{p}" for p in path.split("/"))


def _nth(name: str, i: int, n: int) -> str:
    return f"{name}[{i}]" if n > 1 else name


class _Reader:
    def __init__(self, namespace: str) -> None:
        self.ns = {"d": namespace}

    def el(self, node: etree._Element | None, path: str) -> etree._Element | None:
        if node is None:
            return None
        return node.find(_qualified(path), self.ns)

    def all(self, node: etree._Element, name: str) -> list[etree._Element]:
        return node.findall(f"d:{name}", self.ns)

    def text(self, node: etree._Element | None, path: str) -> str | None:
        found = self.el(node, path)
        if found is None or found.text is None:
            return None
        value = found.text.strip()
        return value or None

    def agent(self, node: etree._Element | None) -> Agent | None:
        fin = self.el(node, "FinInstnId")
        if fin is None:
            return None
        return Agent(
            bic=self.text(fin, "BICFI"),
            member_id=self.text(fin, "ClrSysMmbId/MmbId"),
            clearing_system=self.text(fin, "ClrSysMmbId/ClrSysId/Cd") or self.text(fin, "ClrSysMmbId/ClrSysId/Prtry"),
            name=self.text(fin, "Nm"),
            address_country=self.text(fin, "PstlAdr/Ctry"),
        )

    def party(self, node: etree._Element | None) -> Party:
        if node is None:
            return Party()
        identifier = self.text(node, "Id/OrgId/AnyBIC") or self.text(node, "Id/OrgId/LEI") or self.text(node, "Id/OrgId/Othr/Id") or self.text(node, "Id/PrvtId/Othr/Id")
        name = self.el(node, "Nm")
        name_text = name.text if name is not None and name.text and name.text.strip() else None  # kept as written: names are compared downstream
        return Party(name_text, identifier, self.text(node, "PstlAdr/Ctry") or self.text(node, "CtryOfRes"))

    def account(self, node: etree._Element | None) -> str | None:
        return self.text(node, "Id/IBAN") or self.text(node, "Id/Othr/Id")

    def amount(self, node: etree._Element) -> tuple[str, str]:
        return (node.text or "").strip(), node.get("Ccy", "")


def hints(reader: _Reader, node: etree._Element, path: str) -> tuple[LegHint, ...]:
    out = []
    blocks = reader.all(node, "SplmtryData")
    for s, supplementary in enumerate(blocks, start=1):
        envelope = reader.el(supplementary, "Envlp")
        if envelope is None:
            continue
        for legs in envelope.findall(f"{{{ENVELOPE_NS}}}Legs"):
            items = legs.findall(f"{{{ENVELOPE_NS}}}Leg")
            for k, leg in enumerate(items, start=1):
                out.append(
                    LegHint(
                        side=leg.get("side"),
                        ref=leg.get("ref"),
                        channel=leg.get("channel"),
                        method=leg.get("method"),
                        original_ref=leg.get("orig"),
                        xpath=f"{path}/{_nth('SplmtryData', s, len(blocks))}/Envlp/Legs/{_nth('Leg', k, len(items))}",
                    )
                )
    return tuple(out)


def read_pacs008(message: Message) -> Pacs008:
    r = _Reader(message.namespace)
    body = r.el(message.root, "FIToFICstmrCdtTrf")
    assert body is not None  # the schema requires it
    header = r.el(body, "GrpHdr")
    group_date = r.text(header, "IntrBkSttlmDt")
    group_agent = r.agent(r.el(header, "InstgAgt"))
    transactions = []
    elements = r.all(body, "CdtTrfTxInf")
    for i, tx in enumerate(elements, start=1):
        path = f"/Document/FIToFICstmrCdtTrf/{_nth('CdtTrfTxInf', i, len(elements))}"
        amount_el = r.el(tx, "IntrBkSttlmAmt")
        assert amount_el is not None
        amount, currency = r.amount(amount_el)
        sides = []
        for party, account, agent in (("Dbtr", "DbtrAcct", "DbtrAgt"), ("Cdtr", "CdtrAcct", "CdtrAgt")):
            party_el = r.el(tx, party)
            assert party_el is not None
            sides.append(Side(r.party(party_el), r.account(r.el(tx, account)), r.agent(r.el(tx, agent)) or Agent(), f"{path}/{party}"))
        transactions.append(
            CreditTransfer(
                xpath=path,
                position=i,
                end_to_end_id=r.text(tx, "PmtId/EndToEndId") or "",
                tx_id=r.text(tx, "PmtId/TxId"),
                uetr=r.text(tx, "PmtId/UETR"),
                amount=amount,
                currency=currency,
                amount_xpath=f"{path}/IntrBkSttlmAmt",
                settlement_date=r.text(tx, "IntrBkSttlmDt") or group_date,
                debit_time=r.text(tx, "SttlmTmIndctn/DbtDtTm"),
                credit_time=r.text(tx, "SttlmTmIndctn/CdtDtTm"),
                acceptance_time=r.text(tx, "AccptncDtTm") or r.text(tx, "AddtlDtTm/AccptncDtTm"),
                debtor=sides[0],
                creditor=sides[1],
                instructing_agent=r.agent(r.el(tx, "InstgAgt")) or group_agent,
                hints=hints(r, tx, path),
            )
        )
    header_path = "/Document/FIToFICstmrCdtTrf/GrpHdr"
    declared = [Declared(f"{header_path}/NbOfTxs", "transactions", r.text(header, "NbOfTxs") or "", str(len(elements)))]
    control_sum = r.text(header, "CtrlSum")
    if control_sum is not None:
        declared.append(Declared(f"{header_path}/CtrlSum", "as the sum of the settlement amounts", control_sum, str(_sum(t.amount for t in transactions))))
    return Pacs008(message.message_id, r.text(header, "MsgId") or "", r.text(header, "CreDtTm") or "", f"{header_path}/CreDtTm", tuple(transactions), tuple(declared))


def _sum(amounts: Iterable[str]) -> Decimal:
    total = Decimal(0)
    for amount in amounts:
        with contextlib.suppress(InvalidOperation):  # the schema has checked each; the mapping names a bad one
            total += Decimal(amount)
    return total


def _btc(r: _Reader, node: etree._Element | None) -> BankTransactionCode:
    if node is None:
        return BankTransactionCode()
    return BankTransactionCode(
        domain=r.text(node, "Domn/Cd"), family=r.text(node, "Domn/Fmly/Cd"), subfamily=r.text(node, "Domn/Fmly/SubFmlyCd"), proprietary=r.text(node, "Prtry/Cd")
    )


def read_camt054(message: Message) -> Camt054:
    r = _Reader(message.namespace)
    body = r.el(message.root, "BkToCstmrDbtCdtNtfctn")
    assert body is not None
    header = r.el(body, "GrpHdr")
    created = r.text(header, "CreDtTm") or ""
    legs = []
    declared: list[Declared] = []
    notifications = r.all(body, "Ntfctn")
    for j, notification in enumerate(notifications, start=1):
        notification_path = f"/Document/BkToCstmrDbtCdtNtfctn/{_nth('Ntfctn', j, len(notifications))}"
        account_el = r.el(notification, "Acct")
        account = r.account(account_el) or ""
        servicer = r.agent(r.el(account_el, "Svcr"))
        notification_created = r.text(notification, "CreDtTm") or created
        entries = r.all(notification, "Ntry")
        entry_count = r.text(notification, "TxsSummry/TtlNtries/NbOfNtries")
        if entry_count is not None:
            declared.append(Declared(f"{notification_path}/TxsSummry/TtlNtries/NbOfNtries", "entries", entry_count, str(len(entries))))
        for e, entry in enumerate(entries, start=1):
            entry_path = f"{notification_path}/{_nth('Ntry', e, len(entries))}"
            blocks = r.all(entry, "NtryDtls")
            details, detail_paths = [], []
            for b, block in enumerate(blocks, start=1):
                in_block = r.all(block, "TxDtls")
                for t, tx in enumerate(in_block, start=1):
                    details.append(tx)
                    detail_paths.append(f"{entry_path}/{_nth('NtryDtls', b, len(blocks))}/{_nth('TxDtls', t, len(in_block))}")
            entry_amount_el = r.el(entry, "Amt")
            assert entry_amount_el is not None
            entry_credit = r.text(entry, "CdtDbtInd") == "CRDT"
            entry_times = [
                ("BookgDt/DtTm", r.text(entry, "BookgDt/DtTm")),
                ("ValDt/DtTm", r.text(entry, "ValDt/DtTm")),
                ("BookgDt/Dt", r.text(entry, "BookgDt/Dt")),
                ("ValDt/Dt", r.text(entry, "ValDt/Dt")),
                ("CreDtTm", notification_created),
            ]
            common = {
                "account": account,
                "servicer": servicer,
                "notification_id": r.text(notification, "Id") or "",
                "entry_position": e,
                "detail_count": len(details),
                "entry_ref": r.text(entry, "NtryRef"),
                "entry_servicer_ref": r.text(entry, "AcctSvcrRef"),
                "reversal": (r.text(entry, "RvslInd") or "").lower() in ("true", "1"),
                "status": r.text(entry, "Sts/Cd") or r.text(entry, "Sts/Prtry") or r.text(entry, "Sts"),
            }
            entry_btc = _btc(r, r.el(entry, "BkTxCd"))
            for k, tx in enumerate(details or [None], start=1):
                path = detail_paths[k - 1] if tx is not None else entry_path
                amount_el = r.el(tx, "Amt") if tx is not None else None
                amount_path = f"{path}/Amt"
                if amount_el is None and tx is not None:
                    amount_el = r.el(tx, "AmtDtls/TxAmt/Amt")
                    amount_path = f"{path}/AmtDtls/TxAmt/Amt"
                if amount_el is None and len(details) <= 1:
                    amount_el = entry_amount_el
                    amount_path = f"{entry_path}/Amt"
                amount, currency = r.amount(amount_el) if amount_el is not None else ("", "")
                indicator = r.text(tx, "CdtDbtInd") if tx is not None else None
                credit = entry_credit if indicator is None else indicator == "CRDT"
                parties = r.el(tx, "RltdPties")
                agents = r.el(tx, "RltdAgts")
                other, other_account, other_agent = ("Dbtr", "DbtrAcct", "DbtrAgt") if credit else ("Cdtr", "CdtrAcct", "CdtrAgt")
                party_el = r.el(parties, f"{other}/Pty")
                if party_el is None:  # camt.054.001.08 and later use Party40Choice/Party50Choice; a bare party is tolerated for robustness
                    party_el = r.el(parties, other) if r.el(parties, f"{other}/Agt") is None else None
                btc = _btc(r, r.el(tx, "BkTxCd")) if tx is not None and r.el(tx, "BkTxCd") is not None else entry_btc
                tx_times = [("RltdDts/TxDtTm", r.text(tx, "RltdDts/TxDtTm")), ("RltdDts/AccptncDtTm", r.text(tx, "RltdDts/AccptncDtTm"))] if tx is not None else []
                legs.append(
                    EntryLeg(
                        xpath=path,
                        detail_position=k if tx is not None else 0,
                        servicer_ref=r.text(tx, "Refs/AcctSvcrRef") if tx is not None else None,
                        uetr=r.text(tx, "Refs/UETR") if tx is not None else None,
                        amount=amount,
                        currency=currency,
                        amount_xpath=amount_path,
                        credit=credit,
                        times=tuple((what, value) for what, value in tx_times[:1] + entry_times[:2] + tx_times[1:] + entry_times[2:] if value),
                        btc=btc,
                        counterparty=r.party(party_el) if party_el is not None else None,
                        counterparty_account=r.account(r.el(parties, other_account)),
                        counterparty_agent=r.agent(r.el(agents, other_agent)),
                        hints=hints(r, tx, path) if tx is not None else (),
                        **common,
                    )
                )
    return Camt054(message.message_id, r.text(header, "MsgId") or "", created, tuple(legs), tuple(declared))


def read(message: Message) -> Pacs008 | Camt054:
    return read_pacs008(message) if message.message_type == PACS008 else read_camt054(message)
