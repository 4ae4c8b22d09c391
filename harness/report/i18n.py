"""English and Simplified Chinese words for the supplier-facing pages.

The Chinese follows the supplier's own edition of the document ("GSM 模块 TCPIP 应用流程指导",
shared/seeds/004_*.txt): 透传模式, 非透传, GPRS场景, 激活/去激活, 前台Context, 心跳包, 发送窗口,
重启模块, 超时. AT commands, result codes and clause IDs stay verbatim in both languages.
"""

from __future__ import annotations

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


def verdict_word(verdict: str, lang: str) -> str:
    return VERDICT_WORDS[lang].get(str(verdict), str(verdict))


def clause_title(clause: Clause, lang: str) -> str:
    """A clause's title in `lang` (English from harness.clauses)."""
    if lang == "zh":
        return CLAUSE_TITLES_ZH.get(clause.id, clause.title)
    return clause.title


#: The words of the supplier regression report (harness/report/compare_render.py).
STRINGS = {
    "en": {
        "title": "Supplier regression report",
        "document": "Measured against “{doc}”.",
        "result_regressed": "Result: REGRESSED — {clauses} clause(s) now fail, "
        "{commands} command(s) slower beyond run-to-run noise.",
        "result_ok": "Result: no regression — no clause newly fails and no command is slower "
        "beyond run-to-run noise.",
        "runs": "Runs compared",
        "old": "OLD",
        "new": "NEW",
        "run": "Run",
        "rig": "Rig",
        "model": "Model",
        "revision": "Revision",
        "firmware": "Firmware",
        "date": "Date",
        "time_scale": "Time scale",
        "verdict": "Overall verdict",
        "same_firmware": "Both runs report the same firmware: differences come from the network, "
        "the rig or noise, not from a firmware change.",
        "regressions": "Clauses that regressed (now fail)",
        "fixes": "Clauses fixed (failed before, pass now)",
        "margin": "Clauses whose timing verdict changed (pass ↔ marginal)",
        "margin_note": "A step crossed the document's typical time; whether the command really "
        "got slower is decided by the timing comparison below.",
        "coverage": "Coverage changes (run in one of the runs only, or no verdict)",
        "slower": "Commands slower beyond noise",
        "faster": "Commands faster beyond noise",
        "all_timings": "All command timings",
        "only_old": "Commands measured in OLD only: {names}.",
        "only_new": "Commands measured in NEW only: {names}.",
        "noise": "How “beyond noise” is decided",
        "noise_text": "For each command the median of its measured module seconds is compared. "
        "The change counts only when it exceeds the largest of: {floor:g} s; {rel:.0%} of the "
        "OLD median; {jitter:g} s of host scheduling jitter divided by the run's time scale; "
        "and {k:g} × the larger robust spread of the two runs (MAD × 1.4826). Medians and MADs "
        "are not moved by one or two outliers, so ordinary run-to-run noise is not reported.",
        "clause": "Clause",
        "group": "Group",
        "title_col": "Title",
        "evidence": "Evidence (NEW run)",
        "command": "Command",
        "clauses": "Clauses",
        "n": "n (OLD/NEW)",
        "median_old": "Median OLD",
        "median_new": "Median NEW",
        "p95_old": "p95 OLD",
        "p95_new": "p95 NEW",
        "limit": "Limit",
        "change": "Change",
        "threshold": "Noise threshold",
        "assessment": "Assessment",
        "steady": "within noise",
        "slower_word": "slower",
        "faster_word": "faster",
        "none": "None.",
        "footer": "Written by modemcert {version} on {when}. Times are module seconds.",
    },
    "zh": {
        "title": "供应商回归测试报告",
        "document": "依据《{doc}》进行测试。",
        "result_regressed": "结论：有回归 — {clauses} 个条款由通过变为不通过，"
        "{commands} 条命令的响应时间变慢（超出测试波动范围）。",
        "result_ok": "结论：无回归 — 没有条款新出现不通过，"
        "也没有命令的响应时间变慢超出测试波动范围。",
        "runs": "对比的两轮测试",
        "old": "旧版本 (OLD)",
        "new": "新版本 (NEW)",
        "run": "测试轮次",
        "rig": "测试台",
        "model": "模块型号",
        "revision": "版本号 (Revision)",
        "firmware": "固件版本",
        "date": "日期",
        "time_scale": "时间比例",
        "verdict": "总体结论",
        "same_firmware": "两轮测试的固件版本相同：差异来自网络、测试台或测试波动，而非固件变更。",
        "regressions": "回归的条款（现在不通过）",
        "fixes": "已修复的条款（之前不通过，现在通过）",
        "margin": "时间结论变化的条款（通过 ↔ 临界）",
        "margin_note": "某一步骤的响应时间越过了文档给出的典型值；"
        "命令是否确实变慢，由下面的响应时间对比判定。",
        "coverage": "覆盖范围变化（只在其中一轮执行，或无结论）",
        "slower": "响应时间变慢（超出测试波动范围）的命令",
        "faster": "响应时间变快（超出测试波动范围）的命令",
        "all_timings": "全部命令的响应时间",
        "only_old": "只在旧版本中测量的命令：{names}。",
        "only_new": "只在新版本中测量的命令：{names}。",
        "noise": "“超出测试波动范围”的判定方法",
        "noise_text": "对每条命令比较其测得时间（模块秒）的中位数。"
        "只有当变化量大于以下各项中的最大值时才计为变化：{floor:g} 秒；旧版本中位数的 {rel:.0%}；"
        "主机调度抖动 {jitter:g} 秒除以该轮的时间比例；"
        "两轮中较大的稳健离散度（MAD × 1.4826）的 {k:g} 倍。中位数和 MAD 不受个别异常值影响，"
        "因此正常的测试波动不会被报告为回归。",
        "clause": "条款",
        "group": "类别",
        "title_col": "内容",
        "evidence": "依据（新版本）",
        "command": "命令",
        "clauses": "条款",
        "n": "样本数 (旧/新)",
        "median_old": "旧版本中位数",
        "median_new": "新版本中位数",
        "p95_old": "旧版本 p95",
        "p95_new": "新版本 p95",
        "limit": "限值（超时）",
        "change": "变化",
        "threshold": "波动阈值",
        "assessment": "评估",
        "steady": "在波动范围内",
        "slower_word": "变慢",
        "faster_word": "变快",
        "none": "无。",
        "footer": "由 modemcert {version} 生成于 {when}。时间单位为模块秒。",
    },
}
