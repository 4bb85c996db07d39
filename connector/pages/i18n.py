"""The page's words in Chinese and English, and the choice between them by Accept-Language."""

from __future__ import annotations

LANGUAGES = ("zh", "en")

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Product provenance",
        "product": "Product",
        "maker": "Made by",
        "gtin": "GTIN",
        "serial": "Serial",
        "lot": "Lot",
        "handle": "Handle",
        "journey": "Journey",
        "no_journey": "No public journey steps are available for this item.",
        "hidden": "{n} further step(s) are not public.",
        "footprint": "Carbon footprint",
        "per": "per",
        "no_footprint": "No public carbon footprint.",
        "certificate": "Quality certificate",
        "no_certificate": "No public quality certificate.",
        "conform": "Conforms to specification",
        "not_conform": "Does not conform",
        "issued": "Issued",
        "verified": "Verified",
        "verified_note": "Every signature and inclusion proof on this item's path checks.",
        "not_verified": "Not verified",
        "not_verified_note": "Some evidence on this item's path is missing or does not check.",
        "evidence": "Raw proofs",
        "evidence_note": "Re-check them yourself: ledger entry, inclusion proof, checkpoint, key.",
        "entry": "entry",
        "proof": "proof",
        "checkpoint": "checkpoint",
        "key": "key",
        "all_evidence": "All evidence (JSON)",
        "scan": "Scan to open this page",
        "switch": "中文",
        "at": "at",
        "incomplete": "Some partners could not be reached; the journey may be incomplete.",
    },
    "zh": {
        "title": "产品溯源",
        "product": "产品",
        "maker": "生产商",
        "gtin": "商品条码 GTIN",
        "serial": "序列号",
        "lot": "批号",
        "handle": "标识",
        "journey": "流转历程",
        "no_journey": "该商品暂无公开的流转记录。",
        "hidden": "另有 {n} 个环节未公开。",
        "footprint": "碳足迹",
        "per": "每",
        "no_footprint": "暂无公开的碳足迹。",
        "certificate": "质量证书",
        "no_certificate": "暂无公开的质量证书。",
        "conform": "符合规格",
        "not_conform": "不符合规格",
        "issued": "签发于",
        "verified": "已验证",
        "verified_note": "该商品路径上的所有签名和包含证明均已通过验证。",
        "not_verified": "未验证",
        "not_verified_note": "该商品路径上的部分证据缺失或未通过验证。",
        "evidence": "原始证明",
        "evidence_note": "您可以自行复核：账本条目、包含证明、检查点、公钥。",
        "entry": "条目",
        "proof": "证明",
        "checkpoint": "检查点",
        "key": "公钥",
        "all_evidence": "全部证据 (JSON)",
        "scan": "扫码打开本页",
        "switch": "English",
        "at": "于",
        "incomplete": "部分合作方无法访问，流转历程可能不完整。",
    },
}

STEPS: dict[str, tuple[str, str]] = {
    "commissioning": ("Produced", "生产"),
    "creating_class_instance": ("Processed", "加工"),
    "transforming": ("Transformed", "转化"),
    "packing": ("Packed", "装箱"),
    "unpacking": ("Unpacked", "拆箱"),
    "shipping": ("Shipped", "发货"),
    "receiving": ("Received", "收货"),
    "accepting": ("Accepted", "验收"),
    "inspecting": ("Inspected", "检验"),
    "storing": ("Stored", "入库"),
    "retail_selling": ("Sold", "零售"),
    "repairing": ("Repaired", "维修"),
    "recycling": ("Recycled", "回收"),
}


def pick_language(accept_language: str | None, override: str | None = None) -> str:
    """`zh` when the caller asks for it (`?lang=` first, then the highest-weighted
    Accept-Language range that is zh or en), otherwise `en`."""
    if override in LANGUAGES:
        return str(override)
    best, weight = "en", -1.0
    for n, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        # earlier ranges win ties (the list order is the user's preference order)
        if primary in LANGUAGES and q > 0 and q - n * 1e-6 > weight:
            best, weight = primary, q - n * 1e-6
    return best


def step_label(biz_step: str | None, lang: str) -> str:
    short = (biz_step or "").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    names = STEPS.get(short)
    if names is None:
        return short.replace("_", " ") or "event"
    return names[1] if lang == "zh" else names[0]
