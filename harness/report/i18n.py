"""English and Simplified Chinese words for the supplier-facing pages.

The Chinese follows the supplier's own edition of the document ("GSM 模块 TCPIP 应用流程指导",
docs/seeds/004_*.txt): 透传模式, 非透传, GPRS场景, 激活/去激活, 前台Context, 心跳包, 发送窗口,
重启模块, 超时. AT commands, result codes and clause IDs stay verbatim in both languages.
"""

from __future__ import annotations

import re

from harness.clauses import Clause

LANGUAGES = ("en", "zh")

DOCUMENT_TITLE = {
    "en": "GSM TCPIP Recommended Process V1.1",
    "zh": "GSM 模块 TCPIP 应用流程指导",
}

GROUP_NAMES = {
    "en": {
        "INIT": "Initialization and configuration",
        "PDP": "GPRS context activation / deactivation",
        "OPEN": "Establish TCP session",
        "SEND": "Send data",
        "RECV": "Receive data",
        "KEEP": "TCP connection maintenance and detection",
        "CLOSE": "Close TCP session",
        "TRANS": "Transparent session mode",
        "PWR": "Power, timeouts and module restart",
        "FLOW": "Recommended process flow chart, end to end",
    },
    "zh": {
        "INIT": "初始化工作",
        "PDP": "GPRS场景激活/去激活",
        "OPEN": "建立TCP连接",
        "SEND": "发送数据",
        "RECV": "接收数据",
        "KEEP": "TCP连接维持和侦测",
        "CLOSE": "关闭TCP连接",
        "TRANS": "透传模式",
        "PWR": "开关机、超时与重启模块",
        "FLOW": "TCPIP设计参考流程（端到端）",
    },
}

VERDICT_WORDS = {
    "en": {
        "pass": "pass",
        "marginal": "marginal",
        "fail": "fail",
        "error": "rig/harness error",
        "skipped": "skipped",
        "not run": "not run",
        "interrupted": "interrupted",
        "inconclusive": "inconclusive",
        "incomplete": "incomplete",
    },
    "zh": {
        "pass": "通过",
        "marginal": "临界（超出典型值）",
        "fail": "不通过",
        "error": "测试台错误（无结论）",
        "skipped": "跳过",
        "not run": "未执行",
        "interrupted": "中断（未完成测试）",
        "inconclusive": "无结论",
        "incomplete": "未完成",
    },
}

#: The clause titles of harness.clauses in the supplier's Chinese, clause by clause.
CLAUSE_TITLES_ZH = {
    "INIT-SYNC": "开机或重启后每隔500ms发送AT进行串口自适应同步，最多15次；同步成功后"
    "AT+IPR=<rate>&W固定波特率并保存",
    "INIT-IPR": "AT+IPR=115200&W 返回 OK，重启模块后波特率保持不变",
    "INIT-CPIN": "AT+CPIN? 返回 +CPIN: READY（或 AT+QINISTAT）；10s内未读到SIM卡则重启模块",
    "INIT-CREG": "AT+CREG? 查询<stat>为1或5（或等待 +CREG 自动上报）；30s内未找到网络则重启模块",
    "INIT-CGREG": "AT+CGREG? 查询<stat>为1或5；30s内未注册成功则强制执行下一步",
    "INIT-CGATT": "AT+CGATT? 返回 +CGATT: 1（GPRS附着成功）；AT+CGATT 超时180s，无返回则重启模块",
    "INIT-FGCNT": "AT+QIFGCNT=0 将Context 0设为前台Context",
    "INIT-APN": 'AT+QICSGP=1,"CMNET" 设置GPRS的APN',
    "OPT-DNSIP": "AT+QIDNSIP=1：AT+QIOPEN 的服务器地址使用域名格式",
    "OPT-INDI": "AT+QINDI=1：收到数据后输出 +QIRDI 提示，再用 AT+QIRD 提取数据",
    "OPT-HEAD": "AT+QIHEAD=1：在接收到的数据之前增加头信息 IPD<len>:",
    "OPT-SHOWRA": "AT+QISHOWRA=1：在数据之前增加来源地址和端口 RECV FROM:<ip>:<port>",
    "OPT-SHOWPT": "AT+QISHOWPT=1：在头信息中增加传输层协议类型（如 IPD36TCP:）",
    "OPT-MODE": "AT+QIMODE=1 使用透传模式（默认0，非透传）",
    "OPT-TCFG": "AT+QITCFG=3,2,512,1：不足512字节时等待200ms后发送，否则以512字节为一组发送",
    "PDP-ACT": "AT+QIREGAPP、AT+QIACT、AT+QILOCIP 按顺序捆绑使用，激活GPRS场景；"
    "AT+QILOCIP 返回本地IP",
    "PDP-ACT-RETRY": "AT+QIACT 激活GPRS场景连续3次失败则重启模块",
    "PDP-DEACT": "AT+QIDEACT 去激活GPRS场景，返回 DEACT OK；典型2–5s；90s内无返回则重启模块",
    "PDP-LOST": "收到 +PDP DEACT：去激活GPRS场景，然后重新激活",
    "OPEN-TCP": 'AT+QIOPEN="TCP",... 返回 OK，然后返回 CONNECT OK',
    "OPEN-UDP": 'AT+QIOPEN="UDP",... 返回 OK，然后返回 CONNECT OK（UDP只设置目标地址，不建立连接）',
    "OPEN-ERR-FORMAT": "返回 ERROR：命令格式不对",
    "OPEN-ERR-MUX": "因 QIMUX 为1返回 ERROR：用 AT+QIMUX? 查询，AT+QIMUX=0 后重试",
    "OPEN-ERR-STATE": "因状态不对返回 ERROR：TCP CONNECTING 时执行 AT+QICLOSE，"
    "其他状态执行 AT+QIDEACT",
    "OPEN-ALREADY": "ALREADY CONNECT：先用 AT+QICLOSE 关闭当前连接，再建立新连接",
    "OPEN-FAIL": "CONNECT FAIL：AT+QISTAT 查询状态；TCP CONNECTING → AT+QICLOSE，否则 AT+QIDEACT",
    "OPEN-SLOW": "最长等待时间理论上为2分半到3分半；应用可设置小于2分钟的超时",
    "OPEN-RETRY": "AT+QIOPEN 连续5次失败或90s内无返回：AT+QIDEACT 后重试；"
    "仍失败则用 EMERG_OFF 重启模块",
    "SEND-VAR": "不指定长度发送：AT+QISEND，提示符 '> '，输入数据，Ctrl+Z → SEND OK",
    "SEND-MAX": "每次最多输入1460个字节",
    "SEND-SPECIAL": "不指定长度发送时：0x08 删除上一个字符，0x1A 发送，0x1B 退出此次发送",
    "SEND-FIXED": "指定长度发送：AT+QISEND=<n> 恰好发送n个字节（含 0x08、0x1A、0x1B）",
    "SEND-ACK": "AT+QISACK → 已发送、已确认、未确认的数据长度；未确认为0表示全部发送成功；"
    "UDP方式下一直为0",
    "SEND-WINDOW": "发送窗口：未确认数据小于3000继续发送；否则每5秒查询一次，"
    "20次后关闭并重新建立TCP连接，重发未确认的数据",
    "RECV-DIRECT": "接收到的数据直接输出到串口，可带 RECV FROM / IPD 头信息",
    "RECV-INTERLEAVE": "接收到的数据可能插入在AT命令和该命令的返回之间",
    "RECV-QIRD": "+QIRDI: 0,1,0 后 AT+QIRD=0,1,0,1024 返回 +QIRD: <ip>:<port>,TCP,<len> 和数据",
    "KEEP-HEARTBEAT": "空闲时定时发送心跳包维持连接；文档中心跳包的发送间隔为10分钟",
    "KEEP-CHECK": "发送心跳包之前每5秒用 AT+QISACK 查询一次，最多24次；"
    "仍未确认则关闭并重新建立TCP连接，重发数据",
    "CLOSE": "AT+QICLOSE → 所有数据发送完成后返回 CLOSE OK；90s内无返回则重启模块",
    "CLOSE-DEACT": "长时间不用GPRS场景时，用 AT+QIDEACT 去激活",
    "ORDER": "每条命令收到返回（或 ERROR）之后，再执行下一条命令",
    "TRANS-OPEN": "AT+QIMODE=1 时 AT+QIOPEN 返回 OK 然后返回 CONNECT，串口进入数据模式",
    "TRANS-DATA": "数据模式下数据双向透传、不回显，按 OPT-TCFG 的方式分组发送",
    "TRANS-ESC": "输入 +++ 序列回退到命令模式，并返回 OK",
    "TRANS-CLOSED": "数据模式下收到 CLOSED / +PDP DEACT 可能是远端数据：+++ 后返回 OK 则为数据，"
    "无 OK 则连接已断开",
    "PWR-ON": "开机：PowerKey拉高再拉低，2s内开机",
    "PWR-OFF": "关机：Power Key拉低1s关机，然后等待12s后断电",
    "PWR-EMERG": "模块无响应时用 EMERG_OFF 重启模块",
    "AT-TIMEOUT": "所有AT命令必须有返回后才能执行下一条：普通命令60s超时，网络交互命令有各自的超时",
    "PWR-BACKOFF": "模块不能被连续重启：第一次立即重启，之后10分钟、30分钟、1小时后重启",
    "FLOW-HAPPY": "从开机到 AT+QIDEACT，每一步都在限值内完成",
    "FLOW-RECOVER": "流程图中每条“重启模块/去激活后重试”的分支都能回到正常流程，且数据不丢失",
}


#: The names of the steps the harness measures that are not AT commands (harness/limits.py,
#: harness/power.py, the suites), in the supplier's Chinese; `step_name()` applies them.
STEP_NAMES_ZH = (
    (r"AT command", "AT 命令"),
    (r"AT sync interval", "AT 同步间隔"),
    (r"AT sync", "AT 同步"),
    (r"(AT\+\S+) poll interval", r"\1 查询间隔"),
    (r"PWRKEY on sequence", "PWRKEY 开机时序"),
    (r"PWRKEY on", "PWRKEY 开机"),
    (r"PWRKEY off pulse", "PWRKEY 关机脉冲"),
    (r"EMERG_OFF pulse", "EMERG_OFF 脉冲"),
    (r"RDY after PWRKEY", "PWRKEY 之后返回 RDY"),
    (r"RDY at (\d+) after power-on", r"开机后以 \1 波特率返回 RDY"),
    (r"power down after PWRKEY", "PWRKEY 之后关机"),
    (r"supply cut after PWRKEY", "PWRKEY 之后断电"),
    (r"supply cut after power-off", "关机后断电"),
    (r"back-off before reboot (\d+) of a streak", r"连续重启中第 \1 次重启前的等待"),
    (r"reboot back-off", "重启等待"),
    (r"baud synchronisation", "波特率同步"),
    (r"SIM ready after power-on", "开机后 SIM 卡就绪"),
    (r"GSM registration", "GSM 网络注册"),
    (r"GPRS registration", "GPRS 网络注册"),
    (r"data acknowledged by the peer", "数据被对端确认"),
    (r"heartbeat interval", "心跳包间隔"),
    (r"transparent batch wait", "透传分组等待"),
    (r"short batch sent after UART idle \((.*)\)", r"串口空闲后发送短数据包（\1）"),
)


def step_name(name: str, lang: str) -> str:
    """A measured step's name in `lang`; AT commands and unknown names stay as recorded."""
    if lang != "zh":
        return name
    for pattern, words in STEP_NAMES_ZH:
        translated, n = re.subn(rf"^{pattern}$", words, name)
        if n:
            return translated
    return name


def verdict_word(verdict: str, lang: str) -> str:
    return VERDICT_WORDS[lang].get(str(verdict), str(verdict))


def clause_title(clause: Clause, lang: str) -> str:
    """A clause's title in `lang` (English from harness.clauses)."""
    if lang == "zh":
        return CLAUSE_TITLES_ZH.get(clause.id, clause.title)
    return clause.title


#: The words of the supplier regression report (harness/report/compare_render.py), one table
#: per language with the same keys and the same {placeholders} (tests/harness/report/test_i18n.py).
STRINGS = {
    "en": {
        "title": "Supplier regression report",
        "document": "Measured against “{doc}”.",
        "result_regressed": "Result: REGRESSED — {clauses} clause(s) now fail from {causes} "
        "cause(s); {commands} command(s) slower beyond run-to-run noise.",
        "result_ok": "Result: no regression — no clause newly fails and no command is slower "
        "beyond run-to-run noise.",
        "result_not_comparable": "Result: NOT COMPARABLE — the runs differ in {what}; "
        "this comparison gives no verdict.",
        "result_lost": "Result: COVERAGE LOST — {clauses} clause(s) judged in OLD have no "
        "verdict in NEW; nothing that ran in both regressed.",
        "result_same": "Result: OLD and NEW are the same run; nothing can differ.",
        "warn_same": "OLD and NEW are the same run ({run}): this comparison can find nothing.",
        "banner_not_comparable": "Not comparable: {items}. Compare runs of the same model on "
        "the same kind of rig at the same time scale.",
        "banner_lost": "Coverage lost: {count} clause(s) judged in OLD were not judged in NEW: "
        "{clauses}.",
        "banner_sim": "Simulated module — not a certification.",
        "banner_mutations": "The simulator broke documented behaviour on purpose: {runs}.",
        "mutations_in": "{run} with {names}",
        "diff_item": "{what} {old} → {new}",
        "list_sep": "; ",
        "what_rig kind": "rig kind",
        "what_model": "model",
        "what_revision": "revision",
        "what_firmware": "firmware",
        "what_time scale": "time scale",
        "what_mutations": "simulator mutations",
        "firmware_same": "Both runs report the same firmware, {firmware}: what differs comes "
        "from the rig, the network or noise, not from a firmware change.",
        "firmware_same_mutated": "Both runs report the same firmware, {firmware}: what differs "
        "comes from the simulator mutation(s) recorded in the runs ({names}).",
        "firmware_changed": "Firmware {old} → {new}: the change this report judges.",
        "runs": "Runs compared",
        "old": "OLD",
        "new": "NEW",
        "run": "Run",
        "rig": "Rig",
        "rig_kind": "Rig kind",
        "model": "Model",
        "revision": "Revision",
        "firmware": "Firmware",
        "date": "Date",
        "time_scale": "Time scale",
        "mutations": "Simulator mutations",
        "judged": "Clauses judged",
        "status": "Run status",
        "verdict": "Overall verdict",
        "status_complete": "complete",
        "status_interrupted": "interrupted",
        "status_aborted": "aborted",
        "status_running": "still running",
        "causes": "Why clauses now fail",
        "causes_none": "No clause newly fails.",
        "cause_heading": "Cause {n}: {text}",
        "cause_no_answer": "{command} gave no final answer within its {limit} limit ({clause})",
        "cause_over": "{command} took {measured}, over its {limit} limit ({clause})",
        "cause_limit": "{command} exceeded a documented limit",
        "cause_step": "{command} did not do what {clause} requires",
        "cause_over_limit": "{command} exceeded its {limit} limit ({clause})",
        "cause_deviation_command": "the module answered {command} in a way {clause} does not allow",
        "cause_deviation": "the module answered in a way {clause} does not allow",
        "cause_rig": "a rig fault: no verdict on the module",
        "cause_usage": "a usage error: no verdict on the module",
        "cause_harness": "a modemcert error: no verdict on the module",
        "cause_interrupted": "the test was interrupted before it finished",
        "cause_invalid": "a measurement of {command} the record holds as invalid",
        "cause_affects": "{clauses} clause(s) and {tests} test(s) fail from this cause.",
        "cause_mutation": "Explained by the simulator mutation {name}, recorded in the NEW run.",
        "cause_detail": "What the test reported",
        "regressions": "Clauses that now fail",
        "fixes": "Clauses fixed (failed before, pass now)",
        "margin": "Clauses whose timing verdict changed (pass ↔ marginal)",
        "margin_note": "A step crossed the document's typical time; whether the command really "
        "got slower is decided by the timing comparison below.",
        "lost": "Coverage lost (judged in OLD, no verdict in NEW)",
        "gained": "Coverage gained or changed (no verdict in one of the runs)",
        "slower": "Commands slower beyond noise",
        "faster": "Commands faster beyond noise",
        "all_timings": "All command timings",
        "only_old": "Commands measured in OLD only: {names}.",
        "only_new": "Commands measured in NEW only: {names}.",
        "noise": "How “beyond noise” is decided",
        "noise_text": "A command is judged only when each run measured it at least {min} times. "
        "The medians of its module seconds are compared; the change counts only when it exceeds "
        "the largest of: {floor:g} s; {rel:.0%} of the OLD median; {jitter:g} s of host "
        "scheduling jitter divided by the run's time scale; and {k:g} × the larger robust "
        "spread of the two runs (MAD × 1.4826). Medians and MADs are not moved by one or two "
        "outliers, so ordinary run-to-run noise is not reported. “Decided by” names the "
        "largest part.",
        "clause": "Clause",
        "title_col": "Title",
        "tests": "Tests (NEW)",
        "command": "Command",
        "n": "n (OLD/NEW)",
        "medians": "Median OLD → NEW",
        "change": "Change",
        "threshold": "Noise threshold (decided by)",
        "limit": "Limit",
        "assessment": "Assessment",
        "deciding_tests": "Measured by (NEW)",
        "steady": "within noise",
        "slower_word": "slower",
        "faster_word": "faster",
        "too_few_word": "too few samples",
        "rule_floor": "floor",
        "rule_relative": "share of OLD median",
        "rule_jitter": "host jitter",
        "rule_spread": "spread",
        "between_tests": "(between tests)",
        "none": "None.",
        "footer": "Written by modemcert {version} on {when}. Times are module seconds.",
    },
    "zh": {
        "title": "供应商回归测试报告",
        "document": "依据《{doc}》进行测试。",
        "result_regressed": "结论：有回归 — {clauses} 个条款现在不通过（{causes} 个原因）；"
        "{commands} 条命令的响应时间变慢（超出测试波动范围）。",
        "result_ok": "结论：无回归 — 没有条款新出现不通过，"
        "也没有命令的响应时间变慢超出测试波动范围。",
        "result_not_comparable": "结论：不可比较 — 两轮测试的{what}不同；本次对比不给出结论。",
        "result_lost": "结论：覆盖范围缩小 — {clauses} 个在旧版本中有结论的条款在新版本中没有结论；"
        "两轮都执行的部分没有回归。",
        "result_same": "结论：旧版本与新版本是同一轮测试，不可能有差异。",
        "warn_same": "旧版本与新版本是同一轮测试（{run}）：本次对比不会发现任何差异。",
        "banner_not_comparable": "不可比较：{items}。"
        "请对比同一型号、同类测试台、同一时间比例的测试。",
        "banner_lost": "覆盖范围缩小：{count} 个在旧版本中有结论的条款"
        "在新版本中没有结论：{clauses}。",
        "banner_sim": "模拟模块 — 不是认证结果。",
        "banner_mutations": "模拟器故意破坏了文档规定的行为：{runs}。",
        "mutations_in": "{run} 使用 {names}",
        "diff_item": "{what} {old} → {new}",
        "list_sep": "；",
        "what_rig kind": "测试台类型",
        "what_model": "模块型号",
        "what_revision": "版本号",
        "what_firmware": "固件版本",
        "what_time scale": "时间比例",
        "what_mutations": "模拟器变异",
        "firmware_same": "两轮测试的固件版本相同（{firmware}）：差异来自测试台、网络或测试波动，"
        "而非固件变更。",
        "firmware_same_mutated": "两轮测试的固件版本相同（{firmware}）：差异来自测试中记录的"
        "模拟器变异（{names}）。",
        "firmware_changed": "固件版本 {old} → {new}：本报告评估的就是这一变更。",
        "runs": "对比的两轮测试",
        "old": "旧版本 (OLD)",
        "new": "新版本 (NEW)",
        "run": "测试轮次",
        "rig": "测试台",
        "rig_kind": "测试台类型",
        "model": "模块型号",
        "revision": "版本号 (Revision)",
        "firmware": "固件版本",
        "date": "日期",
        "time_scale": "时间比例",
        "mutations": "模拟器变异",
        "judged": "有结论的条款",
        "status": "测试状态",
        "verdict": "总体结论",
        "status_complete": "完成",
        "status_interrupted": "中断",
        "status_aborted": "中止",
        "status_running": "仍在运行",
        "causes": "条款不通过的原因",
        "causes_none": "没有新出现不通过的条款。",
        "cause_heading": "原因 {n}：{text}",
        "cause_no_answer": "{command} 在 {limit} 限值内没有返回最终结果（条款 {clause}）",
        "cause_over": "{command} 耗时 {measured}，超过 {limit} 限值（条款 {clause}）",
        "cause_limit": "{command} 超过文档规定的限值",
        "cause_step": "{command} 不符合条款 {clause} 的要求",
        "cause_over_limit": "{command} 超过 {limit} 限值（条款 {clause}）",
        "cause_deviation_command": "模块对 {command} 的应答不符合条款 {clause}",
        "cause_deviation": "模块的应答不符合条款 {clause}",
        "cause_rig": "测试台故障：对模块无结论",
        "cause_usage": "使用错误：对模块无结论",
        "cause_harness": "modemcert 自身错误：对模块无结论",
        "cause_interrupted": "测试在完成前被中断",
        "cause_invalid": "记录中 {command} 的测量值无效",
        "cause_affects": "{clauses} 个条款、{tests} 个测试因此不通过。",
        "cause_mutation": "由新版本记录的模拟器变异 {name} 造成。",
        "cause_detail": "测试输出原文",
        "regressions": "现在不通过的条款",
        "fixes": "已修复的条款（之前不通过，现在通过）",
        "margin": "时间结论变化的条款（通过 ↔ 临界）",
        "margin_note": "某一步骤的响应时间越过了文档给出的典型值；"
        "命令是否确实变慢，由下面的响应时间对比判定。",
        "lost": "覆盖范围缩小（旧版本有结论，新版本无结论）",
        "gained": "覆盖范围扩大或变化（其中一轮无结论）",
        "slower": "响应时间变慢（超出测试波动范围）的命令",
        "faster": "响应时间变快（超出测试波动范围）的命令",
        "all_timings": "全部命令的响应时间",
        "only_old": "只在旧版本中测量的命令：{names}。",
        "only_new": "只在新版本中测量的命令：{names}。",
        "noise": "“超出测试波动范围”的判定方法",
        "noise_text": "只有当两轮测试各自至少测量某条命令 {min} 次时，才对该命令作出判定。"
        "比较其测得时间（模块秒）的中位数；只有当变化量大于以下各项中的最大值时才计为变化："
        "{floor:g} 秒；旧版本中位数的 {rel:.0%}；主机调度抖动 {jitter:g} 秒除以该轮的时间比例；"
        "两轮中较大的稳健离散度（MAD × 1.4826）的 {k:g} 倍。中位数和 MAD 不受个别异常值影响，"
        "因此正常的测试波动不会被报告为回归。“判定依据”列出其中最大的一项。",
        "clause": "条款",
        "title_col": "内容",
        "tests": "测试（新版本）",
        "command": "命令",
        "n": "样本数（旧/新）",
        "medians": "中位数 旧 → 新",
        "change": "变化",
        "threshold": "波动阈值（判定依据）",
        "limit": "限值（超时）",
        "assessment": "评估",
        "deciding_tests": "测量该命令的测试（新版本）",
        "steady": "在波动范围内",
        "slower_word": "变慢",
        "faster_word": "变快",
        "too_few_word": "样本太少",
        "rule_floor": "下限",
        "rule_relative": "旧版本中位数的比例",
        "rule_jitter": "主机抖动",
        "rule_spread": "离散度",
        "between_tests": "（测试之间）",
        "none": "无。",
        "footer": "由 modemcert {version} 生成于 {when}。时间单位为模块秒。",
    },
}
