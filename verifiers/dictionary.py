"""The preset zlib dictionary of the `RN1:` token format.

zlib lets both ends agree on a *preset dictionary*: text the compressor may refer
back to before the first byte of the message (RFC 1950 §2.2, ``FDICT``). Chinese
licence text barely compresses on its own — a 300-byte token has few repeats — but
nearly every licence repeats the same vocabulary: the GB/T 36904 identifier prefix,
the field names, company forms, administrative divisions, the phrases of a business
scope. With this dictionary a typical eight-field business licence shrinks by about
a third, from QR version 21–22 to 17 at error correction Q.

The dictionary is part of the format: a token's zlib header carries the dictionary's
Adler-32 (``DICTIONARY_ID``) and the decoder refuses a stream that names another
one. Changing a single byte here means a new prefix (``RN2:``); the test
``tests/verifiers/test_dictionary.py`` pins the identifier so it cannot change by
accident. zlib prefers matches near the end of the dictionary, so the most common
strings come last.
"""

from __future__ import annotations

import zlib

import cbor2

__all__ = ["DICTIONARY", "DICTIONARY_ID"]

# General vocabulary of Chinese licences: company forms, places, scope phrases, units.
_VOCABULARY = (
    # licence type names (national catalogue)
    "营业执照", "食品经营许可证", "食品生产许可证", "药品经营许可证", "不动产权证书", "不动产登记证明",
    "出生医学证明", "居住证", "结婚证", "离婚证", "身份证", "户口簿", "电子完税证明", "税收完税证明",
    "建筑业企业资质证书", "道路运输经营许可证", "卫生许可证", "排污许可证", "医疗机构执业许可证",
    # common phrases of business scopes
    "依法须经批准的项目，经相关部门批准后方可开展经营活动", "一般项目：", "许可项目：",
    "除依法须经批准的项目外，凭营业执照依法自主开展经营活动", "（具体经营项目以相关部门批准文件或许可证件为准）",
    "技术开发、技术咨询、技术交流、技术转让、技术推广", "技术服务", "技术开发", "技术咨询", "技术转让",
    "技术推广", "软件开发", "信息系统集成服务", "数据处理和存储支持服务", "互联网信息服务", "人工智能",
    "计算机系统服务", "网络技术服务", "信息技术咨询服务", "电子产品销售", "计算机软硬件及辅助设备零售",
    "货物进出口", "技术进出口", "进出口代理", "食品销售", "餐饮服务", "餐饮管理", "住宿服务", "酒店管理",
    "企业管理咨询", "企业管理", "会议及展览服务", "会议服务", "广告设计、代理", "广告制作", "广告发布",
    "建设工程施工", "建筑工程施工", "住宅室内装饰装修", "装饰装修", "物业管理", "房地产经纪",
    "房地产开发经营", "道路货物运输", "普通货物仓储服务", "国内货物运输代理", "日用百货销售", "零售",
    "批发", "服装服饰零售", "服装鞋帽", "五金产品零售", "家用电器销售", "文化艺术交流活动", "组织文化艺术交流活动",
    "教育咨询服务", "健康咨询服务", "市场营销策划", "品牌管理", "社会经济咨询服务", "人力资源服务",
    "劳务派遣服务", "机械设备租赁", "汽车租赁", "医疗器械销售", "化妆品零售", "农产品", "新鲜水果零售",
    # company and subject forms
    "个体工商户", "个人独资企业", "合伙企业（有限合伙）", "普通合伙", "农民专业合作社", "分公司", "集团有限公司",
    "股份有限公司", "有限责任公司（自然人投资或控股）", "有限责任公司（法人独资）", "有限责任公司",
    "科技发展有限公司", "信息技术有限公司", "网络科技有限公司", "文化传媒有限公司", "建设工程有限公司",
    "餐饮管理有限公司", "商贸有限公司", "贸易有限公司", "实业有限公司", "投资有限公司", "咨询有限公司",
    "科技有限公司", "有限公司", "科技", "商贸", "贸易", "实业", "投资", "控股", "咨询", "文化", "传媒",
    "信息", "网络", "电子", "智能", "数字", "新能源", "环保", "医药", "生物", "物流", "供应链", "建设",
    # provinces, municipalities, large cities
    "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省", "浙江省", "安徽省", "福建省", "江西省",
    "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省", "四川省", "贵州省", "云南省", "陕西省",
    "甘肃省", "青海省", "内蒙古自治区", "广西壮族自治区", "西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区",
    "香港特别行政区", "澳门特别行政区", "石家庄市", "太原市", "沈阳市", "大连市", "长春市", "哈尔滨市",
    "南京市", "苏州市", "无锡市", "杭州市", "宁波市", "合肥市", "福州市", "厦门市", "南昌市", "济南市",
    "青岛市", "郑州市", "武汉市", "长沙市", "广州市", "深圳市", "东莞市", "佛山市", "珠海市", "南宁市",
    "海口市", "成都市", "贵阳市", "昆明市", "西安市", "兰州市", "西宁市", "银川市", "乌鲁木齐市", "呼和浩特市",
    "天津市", "重庆市", "上海市", "北京市",
    # districts of the four municipalities and the large cities
    "滨海新区", "和平区", "河西区", "渝中区", "江北区", "渝北区", "黄浦区", "徐汇区", "长宁区", "静安区",
    "普陀区", "虹口区", "杨浦区", "闵行区", "宝山区", "嘉定区", "浦东新区", "松江区", "青浦区", "奉贤区",
    "天河区", "越秀区", "海珠区", "白云区", "番禺区", "南山区", "福田区", "罗湖区", "宝安区", "龙岗区",
    "龙华区", "西湖区", "余杭区", "滨江区", "武侯区", "锦江区", "高新区", "经济技术开发区", "自由贸易试验区",
    "延庆区", "密云区", "怀柔区", "平谷区", "门头沟区", "房山区", "顺义区", "石景山区", "大兴区", "昌平区",
    "通州区", "丰台区", "西城区", "东城区", "海淀区", "朝阳区",
    # address and quantity words
    "中华人民共和国", "人民币", "万元人民币", "万元", "元", "自治州", "自治县", "街道", "社区", "村委会",
    "开发区", "工业园", "产业园", "科技园", "大厦", "广场", "中心", "写字楼", "商务楼", "单元", "层", "室",
    "楼", "栋", "幢", "号楼", "号院", "号", "弄", "巷", "胡同", "大道", "东路", "西路", "南路", "北路",
    "中路", "大街", "街", "路", "镇", "乡", "村", "县", "区", "市", "省",
    "长期", "至", "年", "月", "日", "男", "女", "汉族",
)

# Field names as they appear in the CBOR of disclosed fields (text with its CBOR head).
_FIELD_NAMES = (
    "unitNumber", "titleNumber", "rightType", "rightNature", "use", "area", "ownershipShare", "coOwners",
    "taxVoucherNumber", "taxAmount", "taxType", "motherName", "motherId", "fatherName", "fatherId",
    "birthPlace", "birthDate", "gender", "ethnicity", "residence", "validPeriod", "operatingPeriod",
    "companyType", "name", "type", "capital", "scope", "rep", "addr", "cap",
    "establishedDate", "businessScope", "address", "registeredCapital", "legalRepresentative",
    "holderIdType", "holderId", "holderName",
)

# Fixed parts of every token: identifier prefix, common holder id types, the claim keys.
_TOKEN_PARTS = (
    "ID", "PASSPORT", "USCC", "1.2.156.3005.2.111000000000", "1.2.156.3005.2.",
)


def _build() -> bytes:
    words = "".join(_VOCABULARY).encode("utf-8")
    names = b"".join(cbor2.dumps(name) for name in _FIELD_NAMES)
    parts = b"".join(cbor2.dumps(part) for part in _TOKEN_PARTS)
    return words + names + parts


#: The RN1 preset dictionary (fixed: a change is a new token format).
DICTIONARY: bytes = _build()
#: Its Adler-32, as written in the ``DICTID`` field of every RN1 zlib stream.
DICTIONARY_ID: int = zlib.adler32(DICTIONARY)
