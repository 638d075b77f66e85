"""The reporting language of Chinese news: cue verbs, source frames and speaker nouns (a lexicon, not names)."""

from __future__ import annotations

# Verbs that introduce what someone communicated. Opinion verbs (认为, 预计 …) are how Xinhua reports a
# stated view; attitude verbs (希望, 相信, 欢迎 …) are not cues.
SPEECH_VERBS = frozenset(
    "说 表示 指出 强调 称 宣称 辩称 声称 介绍 告诉 宣布 重申 警告 呼吁 要求 敦促 证实 坦言 解释 提到 写道 写着 "
    "评述 评论 谴责 披露 报道 报告 寄语 坚持 指控 透露 说道 回忆 总结 补充 表态 回应 回答 答 谈到 坦承 直言 "
    "承认 声明 宣告 发文 撰文 喊道 大喊 问 奉劝 提醒 保证 承诺 主张 建议 提出 告知 转述 发布".split()
)
OPINION_VERBS = frozenset("认为 认定 推测 预计 预测 估计 判断 相信".split()) - {"相信"}
CUE_VERBS = SPEECH_VERBS | OPINION_VERBS

# Verbs that need a clause or quote after them to be an attribution (提出/建议/承认 + an NP is an action).
NEEDS_CLAUSE = frozenset("提出 建议 承认 保证 承诺 主张 发布 回应 回答 答 谈到 声明 告知 评论 报告 报道".split())

# Recipient verbs: 告诉新华社记者，… — the span starts after the recipient.
RECIPIENT_VERBS = frozenset("告诉 警告 提醒 告知 奉劝 问 敦促 呼吁 要求".split())

# 说/道 suffixes glued to a verb by the tokenizer or written as a second word (介绍说, 回忆道).
SUFFIXES = ("说", "道")

# Source frames: 据X介绍/报道/消息/预计, 按(照)/根据X的说法.
FRAME_OPENERS = frozenset("据 按 按照 根据 依据 依照".split())
FRAME_NOUNS = frozenset("消息 说法 介绍 报道 预计 估计 统计 透露".split())
# 据悉, 据了解, 据报道, 据称, 据说: no source, not an attribution.
SOURCELESS = frozenset("据悉 据了解 据报道 据称 据说 据介绍 据透露 据统计 据估计 据分析".split())

# 她的发言…：“…”, 郎平的态度是：… — a noun frame followed by a colon.
COLON_NOUNS = frozenset("发言 态度 原话 回答 表态 说法 战术 讲话 致辞 答复 回应 观点 看法".split())

# Words that open a complement that is an attitude, not content: 表示欢迎, 表示“严重关切”.
ATTITUDE_WORDS = (
    "欢迎", "感谢", "谢意", "关切", "关注", "支持", "遗憾", "祝贺", "同情", "哀悼", "慰问", "赞赏", "满意", "不满",
    "担忧", "担心", "反对", "愤慨", "震惊", "谴责", "抗议", "歉意", "道歉", "敬意", "赞同", "认可", "肯定", "感激",
)
ANAPHORIC_OPENERS = ("这一", "这个", "这些", "该", "此", "上述", "此次", "这种", "这项", "以上")

# A trailing clause that is the narrator's, not the speaker's, ends a reported span.
NARRATOR_LINKS = ("因此决定", "随后", "于是", "但随后", "因而决定")

# Vague or sourceless subjects: no statement (有分析认为, 社会普遍认为, 一些烟民纷纷表示).
VAGUE_SUBJECTS = frozenset("分析 舆论 社会 外界 人们 业内 有人 大家 网友 民众 不少人 许多人 很多人".split())
VAGUE_ADVERBS = frozenset("普遍 纷纷".split())

FIRST_PERSON = frozenset("我 我们 咱们 本人 俺".split())
PRONOUNS_SINGULAR = frozenset("他 她".split())
PRONOUNS_PLURAL = frozenset("他们 她们".split())
DEMONSTRATIVES = ("这名", "这位", "这个", "该名", "该位", "那名", "那位", "这家", "该", "此", "这", "那", "这些", "这项", "该项")

# Head nouns that say what kind of source a mention is (the type of an unnamed or bare mention).
DOCUMENT_HEADS = (
    "声明", "联合声明", "公报", "报告", "决议", "文件", "论文", "研究", "墓志铭", "遗愿", "社论", "白皮书", "公告",
    "通告", "通报", "文章", "评论", "信", "信件", "协议", "纲要", "草案", "法案", "判决", "裁决", "调查", "报告书",
)
MEDIA_HEADS = (
    "报", "日报", "晚报", "时报", "邮报", "周刊", "杂志", "社", "通讯社", "电视台", "电台", "网站", "网", "媒体", "媒",
    "新闻", "广播公司", "频道", "报道",
)
GOVERNMENT_HEADS = (
    "政府", "当局", "外交部", "国防部", "部", "警方", "军方", "军队", "议会", "国会", "白宫", "克里姆林宫", "内阁",
    "总统府", "委员会", "局", "署", "厅", "方", "警察局", "法院", "检察院", "使馆", "大使馆", "领事馆",
)
GROUP_MARKERS = ("们", "多名", "一些", "部分", "各方", "双方", "多位", "众多", "家族", "等人", "团队")
GROUP_HEADS = ("专家", "研究人员", "人员", "官员们", "代表", "学者", "科学家", "议员", "领导人", "外长", "球员", "队友", "居民", "家属")
PERSON_HEADS = (
    "人", "者", "员", "长", "官", "家", "士", "师", "手", "生", "女", "男", "妇女", "母亲", "父亲", "姑娘", "孩子", "总统",
    "总理", "首相", "主席", "元首", "发言人", "大使", "部长", "秘书长", "教练", "主帅", "名帅", "队长", "负责人", "人士",
    "亲戚", "朋友", "志愿者", "经理", "总裁", "董事长", "局长", "市长", "州长", "议长", "国王", "女王", "王子", "警官",
    "医生", "护士", "律师", "法官", "分析师", "高官", "官员", "代表", "学者", "教授", "校长", "院长", "作家", "导演",
)

# Words that are as often nouns (发表声明, 报告指出) as verbs: a cue only when tagged a verb and not an object.
DUAL_NOUNS = frozenset("声明 报告 报道 评论 介绍 回答 回应 表态 调查 消息 解释 发布 答 问".split())

# Verbs whose complement may be a bare NP or VP (强调…的重要性, 呼吁各方保持克制); other cues need a clause.
BARE_COMPLEMENT = frozenset("说 表示 称 强调 重申 指出 呼吁 要求 敦促 警告 认为 预计 预测 认定 推测 坚持 宣布 告诉 透露 证实 相信".split())

# One-character country forms in compounds such as 日媒 → 日本媒体 (the type of source and its fullest name).
COUNTRY_SHORT = {
    "美": "美国", "日": "日本", "英": "英国", "法": "法国", "德": "德国", "俄": "俄罗斯", "韩": "韩国", "朝": "朝鲜",
    "泰": "泰国", "印": "印度", "澳": "澳大利亚", "意": "意大利", "越": "越南", "菲": "菲律宾", "外": "外国", "港": "香港",
    "台": "台湾", "欧": "欧洲", "土": "土耳其", "以": "以色列",
}

# Events and things are not sources (会议宣布…, 中国经济预计增长…).
EVENT_NOUNS = ("会议", "会谈", "会晤", "论坛", "峰会", "大会", "活动", "比赛", "仪式", "经济", "计划", "市场", "价格", "数据", "事件")
ORG_HEADS = ("俱乐部", "公司", "组织", "协会", "机构", "集团", "银行", "大学", "学院", "医院", "中心", "基金会", "联盟", "党",
             "队", "学会", "研究所", "研究院", "企业", "交易所", "联合会", "理事会", "法庭", "团体", "派", "反对派")
SOURCE_HEADS = PERSON_HEADS + GROUP_HEADS + GOVERNMENT_HEADS + MEDIA_HEADS + DOCUMENT_HEADS + ORG_HEADS + ("方",)

# Ranks that name one holder in an article (北约秘书长 … 秘书长斯托尔滕贝格), unlike 官员 or 分析师.
RANK_TITLES = ("总统", "总理", "首相", "秘书长", "主席", "外长", "部长", "发言人", "领袖", "领导人", "大使", "国王", "主教练",
               "校长", "市长", "州长", "总裁", "董事长", "局长", "议长", "总书记", "首席执行官", "女王", "教皇")
