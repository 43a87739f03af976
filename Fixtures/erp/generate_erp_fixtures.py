#!/usr/bin/env python3
"""Writes the importer's committed sample exports: the same 60 visits and 12 customers as
  visits.csv / customers.csv                default layout, UTF-8
  visits.xml / customers.xml                default XML layout
  visits_gb18030.csv / customers_gb18030.csv  GB18030, Chinese headers and values, dates 2018/3/1 10:30
                                            (read with ../mappings/gb18030-chinese.json)
  visits_bom_semicolon.csv, customers_bom_semicolon.csv  UTF-8 BOM, ';' delimiter, CRLF, dates 20180301
                                            (read with ../mappings/semicolon.json)
and the malformed inputs under ../malformed/. Deterministic (seed 20180301); no dependencies.
Usage: python3 Fixtures/erp/generate_erp_fixtures.py   (from the repository root)
"""
import os
import random
from xml.sax.saxutils import escape, quoteattr

HERE = os.path.dirname(os.path.abspath(__file__))
MALFORMED = os.path.join(HERE, "..", "malformed")

METHODS = ["phone", "im", "onsite", "email"]
TARGETS = ["first_order", "dormant_3m", "active", "key_account"]
PURPOSES = ["demand_mining", "follow_up", "quotation", "relationship"]
RESULTS = ["order", "no_demand", "no_answer", "not_decision_maker", "price_rejected"]
TYPES = ["trader", "manufacturer", "design_house"]
INDUSTRIES = ["consumer", "automotive", "medical", "industrial", "telecom"]
TAGS = ["key", "high_potential", "small_medium"]
# Chinese source values as an ERP in this market writes them (the mapping maps them back).
ZH = {
    "phone": "电话", "im": "即时通讯", "onsite": "上门拜访", "email": "邮件",
    "first_order": "首单客户", "dormant_3m": "三个月未下单", "active": "活跃客户", "key_account": "重点客户",
    "demand_mining": "需求挖掘", "follow_up": "跟进", "quotation": "报价", "relationship": "客情维护",
    "order": "成功拿到订单", "no_demand": "暂无需求", "no_answer": "无人接听", "not_decision_maker": "非决策人",
    "price_rejected": "价格不接受",
    "trader": "贸易商", "manufacturer": "生产厂家", "design_house": "方案公司",
    "consumer": "消费电子", "automotive": "汽车电子", "medical": "医疗电子", "industrial": "工业控制", "telecom": "通信",
    "key": "重点", "high_potential": "高潜力", "small_medium": "中小客户",
}


def rows():
    rng = random.Random(20180301)
    customers = [(f"C{k:03d}", rng.choice(TYPES), rng.choice(INDUSTRIES), rng.choice(TAGS)) for k in range(1, 13)]
    visits = []
    for k in range(1, 61):
        y, m, d = 2018, rng.randint(3, 9), rng.randint(1, 28)
        purpose = rng.choice(PURPOSES)
        visits.append((f"V{k:04d}", rng.choice(customers)[0], f"R{rng.randint(1, 5):02d}", (y, m, d), rng.choice(METHODS),
                       rng.choice(TARGETS), purpose, rng.choice(RESULTS)))
    return visits, customers


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def csv_field(text, delimiter):
    if any(c in text for c in (delimiter, '"', "\n", "\r")):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_text(header, records, delimiter=",", newline="\n"):
    lines = [delimiter.join(csv_field(f, delimiter) for f in r) for r in [header] + records]
    return newline.join(lines) + newline


def main():
    visits, customers = rows()
    iso = lambda t: f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}"
    vh = ["visit_id", "customer_id", "rep_id", "visit_date", "method", "target", "purpose", "result"]
    ch = ["customer_id", "customer_type", "industry", "tag"]
    plain = [[v[0], v[1], v[2], iso(v[3]), *v[4:]] for v in visits]
    write(os.path.join(HERE, "visits.csv"), csv_text(vh, plain).encode())
    write(os.path.join(HERE, "customers.csv"), csv_text(ch, [list(c) for c in customers]).encode())

    x = ['<?xml version="1.0" encoding="UTF-8"?>', "<VisitExport>"]
    for v in plain:
        x.append(f"  <Visit id={quoteattr(v[0])}><CustomerId>{v[1]}</CustomerId><RepId>{v[2]}</RepId><Date>{v[3]}</Date>"
                 f"<Method>{v[4]}</Method><Target>{v[5]}</Target><Purpose>{escape(v[6])}</Purpose><Result>{v[7]}</Result></Visit>")
    x.append("</VisitExport>")
    write(os.path.join(HERE, "visits.xml"), ("\n".join(x) + "\n").encode())
    x = ['<?xml version="1.0" encoding="UTF-8"?>', "<CustomerExport>"]
    for c in customers:
        x.append(f"  <Customer id={quoteattr(c[0])}><Type>{c[1]}</Type><Industry>{c[2]}</Industry><Tag>{c[3]}</Tag></Customer>")
    x.append("</CustomerExport>")
    write(os.path.join(HERE, "customers.xml"), ("\n".join(x) + "\n").encode())

    # GB18030 with Chinese headers and values, dates as 2018/3/1 with a time of day.
    zvh = ["回访编号", "客户编号", "销售编号", "回访日期", "回访方式", "回访对象", "回访目的", "回访结果"]
    zch = ["客户编号", "客户类型", "所属行业", "客户标签"]
    zrows = [[v[0], v[1], v[2], f"{v[3][0]}/{v[3][1]}/{v[3][2]} 10:30", ZH[v[4]], ZH[v[5]], ZH[v[6]], ZH[v[7]]] for v in visits]
    write(os.path.join(HERE, "visits_gb18030.csv"), csv_text(zvh, zrows, newline="\r\n").encode("gb18030"))
    zcust = [[c[0], ZH[c[1]], ZH[c[2]], ZH[c[3]]] for c in customers]
    write(os.path.join(HERE, "customers_gb18030.csv"), csv_text(zch, zcust, newline="\r\n").encode("gb18030"))

    # UTF-8 BOM, semicolons, CRLF, compact dates.
    srows = [[v[0], v[1], v[2], f"{v[3][0]:04d}{v[3][1]:02d}{v[3][2]:02d}", *v[4:]] for v in visits]
    write(os.path.join(HERE, "visits_bom_semicolon.csv"), b"\xef\xbb\xbf" + csv_text(vh, srows, ";", "\r\n").encode())
    write(os.path.join(HERE, "customers_bom_semicolon.csv"),
          b"\xef\xbb\xbf" + csv_text(ch, [list(c) for c in customers], ";", "\r\n").encode())

    # Malformed inputs: each file's expected accepted and rejected rows are spelled out in
    # Tests/ERPImportTests/MalformedInputTests.swift.
    header = ",".join(vh) + "\n"
    good = lambda i, c="C001", date="2018-03-01", result="order": f"V{i},{c},R01,{date},phone,active,quotation,{result}\n"
    m = {}
    m["wrong_field_count.csv"] = header + good(1) + "V2,C001,R01,2018-03-02,phone,active,quotation\n" \
        + "V3,C001,R01,2018-03-03,phone,active,quotation,order,extra\n" + good(4)
    m["missing_field.csv"] = header + good(1) + "V2,,R01,2018-03-02,phone,active,quotation,order\n" \
        + "V3,C001,R01,2018-03-03,phone,active,quotation,   \n"
    m["bad_date.csv"] = header + good(1) + good(2, date="2018-02-30") + good(3, date="01.03.2018") + good(4, date="2018/3/4 09:15")
    m["unknown_value.csv"] = header + good(1) + "V2,C001,R01,2018-03-02,fax,active,quotation,order\n" + good(3, result="maybe")
    m["duplicates.csv"] = header + good(1) + good(2) + good(1) + good(2, result="no_demand") + good(3)
    m["quotes_and_newlines.csv"] = header + 'V1,C001,R01,2018-03-01,phone,active,"quotation, ""urgent""",order\r\n' \
        + 'V2,C001,R01,2018-03-02,phone,active,"follow_up\nsecond line",order\r\n' + good(3).replace("\n", "\r\n")
    m["bad_quotes.csv"] = header + good(1) + 'V2,C001,R01,2018-03-02,phone,active,quo"tation,order\n' \
        + 'V3,C001,R01,2018-03-03,phone,active,"quotation"x,order\n' + good(4)
    m["truncated.csv"] = header + good(1) + good(2) + 'V3,C001,R01,2018-03-03,phone,active,"quotation, cut'
    m["no_trailing_newline.csv"] = header + good(1) + good(2).rstrip("\n")
    m["empty.csv"] = ""
    m["header_only.csv"] = header
    m["no_header.csv"] = good(1) + good(2)
    m["blank_lines.csv"] = header + "\n" + good(1) + "\r\n\n" + good(2)
    for name, text in m.items():
        write(os.path.join(MALFORMED, name), text.encode())
    write(os.path.join(MALFORMED, "invalid_utf8.csv"),
          header.encode() + good(1).encode() + b"V2,C001,R01,2018-03-02,phone,active,quot\xe9tion,order\n" + good(3).encode())
    write(os.path.join(MALFORMED, "invalid_gb18030.csv"),
          ",".join(zvh).encode("gb18030") + b"\r\n"
          + ",".join(zrows[0]).encode("gb18030") + b"\r\n"
          + b"V0002,C001,R01,2018/3/2,\x81\x20bad,x,y,z\r\n"
          + ",".join(zrows[2]).encode("gb18030") + b"\r\n")
    write(os.path.join(MALFORMED, "invalid_header_encoding.csv"), b"visit_id,custo\xffmer_id\nV1,C1\n")

    xv = lambda i, date="2018-03-01": (f'<Visit id="V{i}"><CustomerId>C001</CustomerId><RepId>R01</RepId><Date>{date}</Date>'
                                      f"<Method>phone</Method><Target>active</Target><Purpose>quotation</Purpose><Result>order</Result></Visit>\n")
    xml = {}
    xml["xxe.xml"] = ('<?xml version="1.0"?>\n<!DOCTYPE VisitExport [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
                      '<VisitExport>\n<Visit id="V1"><CustomerId>&xxe;</CustomerId><RepId>R01</RepId><Date>2018-03-01</Date>'
                      "<Method>phone</Method><Target>active</Target><Purpose>quotation</Purpose><Result>order</Result></Visit>\n</VisitExport>\n")
    laughs = "".join(f'  <!ENTITY lol{k} "{"&lol%d;" % (k - 1) * 10}">\n' for k in range(1, 10))
    xml["billion_laughs.xml"] = ('<?xml version="1.0"?>\n<!DOCTYPE VisitExport [\n  <!ENTITY lol0 "lol">\n' + laughs + "]>\n"
                                 "<VisitExport>\n" + xv(1).replace("<Purpose>quotation", "<Purpose>&lol9;") + "</VisitExport>\n")
    xml["external_dtd.xml"] = ('<?xml version="1.0"?>\n<!DOCTYPE VisitExport SYSTEM "http://example.invalid/visits.dtd">\n'
                               "<VisitExport>\n" + xv(1) + "</VisitExport>\n")
    xml["undeclared_entity.xml"] = '<?xml version="1.0"?>\n<VisitExport>\n' + xv(1).replace("R01", "&rep;") + "</VisitExport>\n"
    xml["plain_doctype.xml"] = '<?xml version="1.0"?>\n<!DOCTYPE VisitExport>\n<VisitExport>\n' + xv(1) + xv(2) + "</VisitExport>\n"
    xml["syntax_error.xml"] = '<?xml version="1.0"?>\n<VisitExport>\n' + xv(1) + xv(2).replace("</Date>", "</Dat>") + "</VisitExport>\n"
    xml["truncated.xml"] = '<?xml version="1.0"?>\n<VisitExport>\n' + xv(1) + xv(2)[:60]
    xml["record_problems.xml"] = ('<?xml version="1.0"?>\n<VisitExport>\n' + xv(1)
                                  + xv(2).replace("<RepId>R01</RepId>", "")
                                  + xv(3, date="2018-02-30")
                                  + xv(4).replace("<Result>order</Result>", "<Result>order</Result><Result>no_demand</Result>")
                                  + xv(5) + "</VisitExport>\n")
    for name, text in xml.items():
        write(os.path.join(MALFORMED, name), text.encode())


if __name__ == "__main__":
    main()
