"""Hand-written ISO 20022 test messages (shared by the unit and end-to-end tests): a pacs.008 with
several transactions of every kind the adapter must handle, a camt.054 with cash, card, fee,
interest, a reversal and a pending entry, and the legs they must give, field by field."""

from __future__ import annotations

BANK = "AMLSCNSHXXX"  # the bank's BIC in these messages (fictitious)

# the bank's customers and their accounts (profiles carry them as `accounts`)
ACCOUNTS = {"C-1": ["6222021000001234"], "C-2": ["6222021000005678", "CN-TD-0002"], "C-3": ["GB33BUKB20201555555555"]}


def pacs008(version: str = "pacs.008.001.08", *, msg_id: str = "MSG-P-1") -> bytes:
    """Four transactions: customer -> customer of the bank (both legs), customer -> outside party
    abroad in USD (cross-border), outside party -> customer (domestic, CNAPS agent, no time
    indication), and outside -> outside (no leg)."""
    acceptance = "<AddtlDtTm><AccptncDtTm>2026-11-02T08:30:00</AccptncDtTm></AddtlDtTm>" if version.endswith("13") else "<AccptncDtTm>2026-11-02T08:30:00</AccptncDtTm>"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{version}">
 <FIToFICstmrCdtTrf>
  <GrpHdr><MsgId>{msg_id}</MsgId><CreDtTm>2026-11-02T09:00:00+08:00</CreDtTm><NbOfTxs>4</NbOfTxs><SttlmInf><SttlmMtd>CLRG</SttlmMtd></SttlmInf></GrpHdr>
  <CdtTrfTxInf>
   <PmtId><InstrId>I-1</InstrId><EndToEndId>E2E-1</EndToEndId><TxId>TX-1</TxId><UETR>8a562c67-ca16-48ba-b074-65581be6f011</UETR></PmtId>
   <IntrBkSttlmAmt Ccy="CNY">50000.00</IntrBkSttlmAmt>
   <IntrBkSttlmDt>2026-11-02</IntrBkSttlmDt>
   <SttlmTmIndctn><DbtDtTm>2026-11-02T09:15:00+08:00</DbtDtTm><CdtDtTm>2026-11-02T09:15:02+08:00</CdtDtTm></SttlmTmIndctn>
   <ChrgBr>SLEV</ChrgBr>
   <Dbtr><Nm>Zhang San</Nm><PstlAdr><Ctry>CN</Ctry></PstlAdr></Dbtr>
   <DbtrAcct><Id><Othr><Id>6222 0210 0000 1234</Id></Othr></Id></DbtrAcct>
   <DbtrAgt><FinInstnId><BICFI>{BANK}</BICFI></FinInstnId></DbtrAgt>
   <CdtrAgt><FinInstnId><BICFI>{BANK}</BICFI></FinInstnId></CdtrAgt>
   <Cdtr><Nm>Li Si Trading Co.</Nm><PstlAdr><Ctry>CN</Ctry></PstlAdr></Cdtr>
   <CdtrAcct><Id><Othr><Id>6222021000005678</Id></Othr></Id></CdtrAcct>
  </CdtTrfTxInf>
  <CdtTrfTxInf>
   <PmtId><EndToEndId>INV-2026-77</EndToEndId><TxId>TX-2</TxId></PmtId>
   <IntrBkSttlmAmt Ccy="USD">12345.67</IntrBkSttlmAmt>
   <IntrBkSttlmDt>2026-11-02</IntrBkSttlmDt>
   {acceptance}
   <InstdAmt Ccy="USD">12360.00</InstdAmt>
   <ChrgBr>SHAR</ChrgBr>
   <Dbtr><Nm>Li Si Trading Co.</Nm></Dbtr>
   <DbtrAcct><Id><Othr><Id>CN-TD-0002</Id></Othr></Id></DbtrAcct>
   <DbtrAgt><FinInstnId><BICFI>{BANK}</BICFI></FinInstnId></DbtrAgt>
   <CdtrAgt><FinInstnId><BICFI>CHASUS33XXX</BICFI></FinInstnId></CdtrAgt>
   <Cdtr><Nm>ACME Components Inc.</Nm><Id><OrgId><LEI>5493001KJTIIGC8Y1R12</LEI></OrgId></Id></Cdtr>
   <CdtrAcct><Id><Othr><Id>000123456789</Id></Othr></Id></CdtrAcct>
  </CdtTrfTxInf>
  <CdtTrfTxInf>
   <PmtId><EndToEndId>NOTPROVIDED</EndToEndId></PmtId>
   <IntrBkSttlmAmt Ccy="CNY">0.01</IntrBkSttlmAmt>
   <IntrBkSttlmDt>2026-11-03</IntrBkSttlmDt>
   <ChrgBr>SLEV</ChrgBr>
   <Dbtr><Nm>Wang Wu</Nm><Id><PrvtId><Othr><Id>110101199003070011</Id></Othr></PrvtId></Id></Dbtr>
   <DbtrAcct><Id><Othr><Id>955880000111</Id></Othr></Id></DbtrAcct>
   <DbtrAgt><FinInstnId><ClrSysMmbId><ClrSysId><Cd>CNAPS</Cd></ClrSysId><MmbId>102100099996</MmbId></ClrSysMmbId></FinInstnId></DbtrAgt>
   <CdtrAgt><FinInstnId><BICFI>{BANK}</BICFI></FinInstnId></CdtrAgt>
   <Cdtr><Nm>Zhang San</Nm></Cdtr>
   <CdtrAcct><Id><Othr><Id>6222021000001234</Id></Othr></Id></CdtrAcct>
  </CdtTrfTxInf>
  <CdtTrfTxInf>
   <PmtId><EndToEndId>E2E-4</EndToEndId><TxId>TX-4</TxId></PmtId>
   <IntrBkSttlmAmt Ccy="EUR">99.5</IntrBkSttlmAmt>
   <ChrgBr>SHAR</ChrgBr>
   <Dbtr><Nm>Someone</Nm></Dbtr><DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>
   <DbtrAgt><FinInstnId><BICFI>COBADEFFXXX</BICFI></FinInstnId></DbtrAgt>
   <CdtrAgt><FinInstnId><BICFI>BNPAFRPPXXX</BICFI></FinInstnId></CdtrAgt>
   <Cdtr><Nm>Someone Else</Nm></Cdtr><CdtrAcct><Id><IBAN>FR1420041010050500013M02606</IBAN></Id></CdtrAcct>
  </CdtTrfTxInf>
 </FIToFICstmrCdtTrf>
</Document>
""".encode()


# the legs pacs008() must give, in order (C-2 holds 6222021000005678 and CN-TD-0002)
PACS008_LEGS = [
    {
        "tx_id": "8a562c67-ca16-48ba-b074-65581be6f011:DBIT",
        "customer_id": "C-1",
        "account_id": "6222 0210 0000 1234",
        "ts": "2026-11-02T09:15:00+08:00",
        "direction": "out",
        "amount": "50000.00",
        "currency": "CNY",
        "method": "transfer",
        "channel": "other",
        "cross_border": False,
        "tx_type": "payment",
        "counterparty_id": "C-2",
        "counterparty_name": "Li Si Trading Co.",
        "counterparty_account": "6222021000005678",
        "counterparty_bank": BANK,
        "counterparty_country": "CN",
    },
    {
        "tx_id": "8a562c67-ca16-48ba-b074-65581be6f011:CRDT",
        "customer_id": "C-2",
        "account_id": "6222021000005678",
        "ts": "2026-11-02T09:15:02+08:00",
        "direction": "in",
        "amount": "50000.00",
        "currency": "CNY",
        "method": "transfer",
        "channel": "other",
        "cross_border": False,
        "tx_type": "payment",
        "counterparty_id": "C-1",
        "counterparty_name": "Zhang San",
        "counterparty_account": "6222 0210 0000 1234",
        "counterparty_bank": BANK,
        "counterparty_country": "CN",
    },
    {
        "tx_id": f"{BANK}/TX-2:DBIT",
        "customer_id": "C-2",
        "account_id": "CN-TD-0002",
        "ts": "2026-11-02T08:30:00+08:00",
        "direction": "out",
        "amount": "12345.67",
        "currency": "USD",
        "method": "remittance",
        "channel": "other",
        "cross_border": True,
        "tx_type": "payment",
        "counterparty_id": "5493001KJTIIGC8Y1R12",
        "counterparty_name": "ACME Components Inc.",
        "counterparty_account": "000123456789",
        "counterparty_bank": "CHASUS33XXX",
        "counterparty_country": "US",
    },
    {
        "tx_id": "MSG-P-1/NOTPROVIDED/3:CRDT",
        "customer_id": "C-1",
        "account_id": "6222021000001234",
        "ts": "2026-11-03T00:00:00+08:00",
        "direction": "in",
        "amount": "0.01",
        "currency": "CNY",
        "method": "transfer",
        "channel": "other",
        "cross_border": False,
        "tx_type": "payment",
        "counterparty_id": "110101199003070011",
        "counterparty_name": "Wang Wu",
        "counterparty_account": "955880000111",
        "counterparty_bank": "CNAPS 102100099996",
    },
]


def camt054(version: str = "camt.054.001.08", *, msg_id: str = "MSG-C-1") -> bytes:
    """C-1's account: a cash deposit at the counter, an ATM withdrawal, a card payment abroad, a
    pending entry (no leg), a batch-booked entry with two transfers, a fee and interest, and the
    reversal of a received transfer (with the original's UETR); C-3's account (an IBAN): a
    proprietary-coded debit; an account of nobody (no leg)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{version}">
 <BkToCstmrDbtCdtNtfctn>
  <GrpHdr><MsgId>{msg_id}</MsgId><CreDtTm>2026-11-02T23:00:00+08:00</CreDtTm></GrpHdr>
  <Ntfctn>
   <Id>N-1</Id>
   <Acct><Id><Othr><Id>6222021000001234</Id></Othr></Id><Svcr><FinInstnId><BICFI>{BANK}</BICFI></FinInstnId></Svcr></Acct>
   <Ntry><Amt Ccy="CNY">30000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><DtTm>2026-11-02T10:00:00</DtTm></BookgDt>
    <AcctSvcrRef>BK-0001</AcctSvcrRef>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>CNTR</Cd><SubFmlyCd>CDPT</SubFmlyCd></Fmly></Domn></BkTxCd></Ntry>
   <Ntry><Amt Ccy="CNY">2000</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><DtTm>2026-11-02T11:00:00+08:00</DtTm></BookgDt>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>CCRD</Cd><SubFmlyCd>CWDL</SubFmlyCd></Fmly></Domn></BkTxCd>
    <NtryDtls><TxDtls><Refs><AcctSvcrRef>BK-0002</AcctSvcrRef></Refs></TxDtls></NtryDtls></Ntry>
   <Ntry><Amt Ccy="HKD">880.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-02</Dt></BookgDt><AcctSvcrRef>BK-0003</AcctSvcrRef>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>CCRD</Cd><SubFmlyCd>XBCP</SubFmlyCd></Fmly></Domn></BkTxCd>
    <NtryDtls><TxDtls><RltdPties><Cdtr><Pty><Nm>HK DUTY FREE LTD</Nm><Id><OrgId><Othr><Id>MID-8800</Id></Othr></OrgId></Id></Pty></Cdtr></RltdPties>
     <RltdAgts><CdtrAgt><FinInstnId><BICFI>HSBCHKHHXXX</BICFI></FinInstnId></CdtrAgt></RltdAgts></TxDtls></NtryDtls></Ntry>
   <Ntry><Amt Ccy="CNY">500.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts><AcctSvcrRef>BK-0004</AcctSvcrRef>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd></Ntry>
   <Ntry><Amt Ccy="CNY">3000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><DtTm>2026-11-02T12:00:00+08:00</DtTm></BookgDt>
    <AcctSvcrRef>BK-0005</AcctSvcrRef>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>
    <NtryDtls>
     <TxDtls><Amt Ccy="CNY">1000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><RltdPties><Dbtr><Pty><Nm>Payer One</Nm></Pty></Dbtr>
      <DbtrAcct><Id><Othr><Id>P-1</Id></Othr></Id></DbtrAcct></RltdPties></TxDtls>
     <TxDtls><Refs><UETR>d5f6a1c0-1111-4222-8333-944455556666</UETR></Refs><Amt Ccy="CNY">2000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
      <RltdPties><Dbtr><Pty><Nm>Payer Two</Nm><PstlAdr><Ctry>SG</Ctry></PstlAdr></Pty></Dbtr></RltdPties></TxDtls>
    </NtryDtls></Ntry>
   <Ntry><Amt Ccy="CNY">15.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><DtTm>2026-11-02T23:59:59+08:00</DtTm></BookgDt>
    <AcctSvcrRef>BK-0006</AcctSvcrRef>
    <BkTxCd><Domn><Cd>ACMT</Cd><Fmly><Cd>MDOP</Cd><SubFmlyCd>FEES</SubFmlyCd></Fmly></Domn></BkTxCd></Ntry>
   <Ntry><Amt Ccy="CNY">1.23</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><ValDt><Dt>2026-11-02</Dt></ValDt><AcctSvcrRef>BK-0007</AcctSvcrRef>
    <BkTxCd><Domn><Cd>ACMT</Cd><Fmly><Cd>MCOP</Cd><SubFmlyCd>INTR</SubFmlyCd></Fmly></Domn></BkTxCd></Ntry>
   <Ntry><Amt Ccy="CNY">2000.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><DtTm>2026-11-02T15:00:00+08:00</DtTm></BookgDt>
    <AcctSvcrRef>BK-0008</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>
    <NtryDtls><TxDtls><Refs><AcctSvcrRef>BK-0008-1</AcctSvcrRef><UETR>d5f6a1c0-1111-4222-8333-944455556666</UETR></Refs></TxDtls></NtryDtls></Ntry>
  </Ntfctn>
  <Ntfctn>
   <Id>N-2</Id>
   <Acct><Id><IBAN>GB33BUKB20201555555555</IBAN></Id></Acct>
   <Ntry><Amt Ccy="GBP">75.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><DtTm>2026-11-02T08:00:00Z</DtTm></BookgDt>
    <BkTxCd><Prtry><Cd>DD-UTILITY</Cd><Issr>BANK</Issr></Prtry></BkTxCd></Ntry>
  </Ntfctn>
  <Ntfctn>
   <Id>N-3</Id>
   <Acct><Id><Othr><Id>NOBODY-1</Id></Othr></Id></Acct>
   <Ntry><Amt Ccy="CNY">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-02</Dt></BookgDt>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>CNTR</Cd><SubFmlyCd>CDPT</SubFmlyCd></Fmly></Domn></BkTxCd></Ntry>
  </Ntfctn>
 </BkToCstmrDbtCdtNtfctn>
</Document>
""".encode()


def _camt(tx_id: str, ts: str, direction: str, amount: str, currency: str, method: str, channel: str, tx_type: str = "payment", **extra: object) -> dict:
    account = "GB33BUKB20201555555555" if tx_id == "N-2/1/0" else "6222021000001234"
    leg = {
        "tx_id": tx_id,
        "customer_id": "C-3" if tx_id == "N-2/1/0" else "C-1",
        "account_id": account,
        "ts": ts,
        "direction": direction,
        "amount": amount,
        "currency": currency,
        "method": method,
        "channel": channel,
        "cross_border": extra.pop("cross_border", False),
        "tx_type": tx_type,
    }
    leg.update(extra)
    return leg


CAMT054_LEGS = [
    _camt("BK-0001", "2026-11-02T10:00:00+08:00", "in", "30000.00", "CNY", "cash", "counter"),
    _camt("BK-0002", "2026-11-02T11:00:00+08:00", "out", "2000", "CNY", "cash", "atm"),
    _camt(
        "BK-0003",
        "2026-11-02T00:00:00+08:00",
        "out",
        "880.50",
        "HKD",
        "card",
        "pos",
        cross_border=True,
        counterparty_id="MID-8800",
        counterparty_name="HK DUTY FREE LTD",
        counterparty_bank="HSBCHKHHXXX",
        counterparty_country="HK",
    ),
    _camt("BK-0005/1", "2026-11-02T12:00:00+08:00", "in", "1000.00", "CNY", "transfer", "other", counterparty_name="Payer One", counterparty_account="P-1"),
    _camt(
        "d5f6a1c0-1111-4222-8333-944455556666:CRDT",
        "2026-11-02T12:00:00+08:00",
        "in",
        "2000.00",
        "CNY",
        "transfer",
        "other",
        counterparty_name="Payer Two",
        counterparty_country="SG",
    ),
    _camt("BK-0006", "2026-11-02T23:59:59+08:00", "out", "15.00", "CNY", "other", "other", "fee"),
    _camt("BK-0007", "2026-11-02T00:00:00+08:00", "in", "1.23", "CNY", "other", "other", "interest"),
    _camt(
        "d5f6a1c0-1111-4222-8333-944455556666:DBIT",
        "2026-11-02T15:00:00+08:00",
        "out",
        "2000.00",
        "CNY",
        "transfer",
        "other",
        "reversal",
        original_tx_id="d5f6a1c0-1111-4222-8333-944455556666:CRDT",
    ),
    _camt("N-2/1/0", "2026-11-02T08:00:00Z", "out", "75.00", "GBP", "other", "other"),
]
