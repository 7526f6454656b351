"""The indicator catalogue: every indicator the department receives is defined here, once.

Each indicator has a code (stable: it keys snapshots, targets and the export mapping),
names and a definition in Vietnamese and English, whether it counts persons (person counts
are subject to small-cell suppression) and its disaggregation:

- ``none``: one value, cell ``total``;
- ``sex_age``: cells ``<sex>:<age band>`` for sex F/M/T and the five age bands, plus ``U``
  (sex or age band not recorded), which together add up to ``total``;
- ``service``: one cell per referral service, with no total (a person referred to two
  services counts once in each, so the cells do not add up to anything published);
- ``commodity``: one cell per core commodity (condoms, lubricants, leaflets, HIV self-test
  kits), with no total (their units do not add up).

Each indicator also declares how it adds up over time, as a DHIS2 data element does
(``aggregation``): ``sum`` (events: a quarter is the sum of its months), ``distinct``
(persons over the whole period: a quarter is computed for the quarter from the group's
records, never by adding months) or ``last`` (a state: a quarter's value is the value of
its last month). Across groups every indicator adds up: groups share no client identity,
so a person is counted once per group.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models.contacts import AGE_BANDS, SERVICES, SEXES
from .models.stock import CORE_COMMODITIES

TOTAL = "total"
UNKNOWN = "U"
SEX_AGE_CELLS: tuple[str, ...] = tuple(f"{s}:{a}" for s in SEXES for a in AGE_BANDS)

#: Names of referral services, for the department's pages and exports.
SERVICE_NAMES: dict[str, tuple[str, str]] = {
    "hiv_test": ("Xét nghiệm HIV", "HIV testing"),
    "pep": ("PEP (dự phòng sau phơi nhiễm)", "PEP"),
    "prep": ("PrEP (dự phòng trước phơi nhiễm)", "PrEP"),
    "hiv_treatment": ("Điều trị HIV", "HIV treatment"),
    "hepatitis_test": ("Xét nghiệm viêm gan B/C", "Hepatitis B/C testing"),
    "tb_screening": ("Sàng lọc lao", "TB screening"),
    "sti_care": ("Khám, điều trị STI", "STI care"),
    "health_care": ("Chăm sóc sức khỏe", "Health care"),
    "legal_aid": ("Trợ giúp pháp lý", "Legal aid"),
    "psych_counselling": ("Tư vấn tâm lý", "Psychological counselling"),
    "gbv_support": ("Hỗ trợ bạo lực giới", "Gender-based violence support"),
    "vocational_training": ("Học nghề", "Vocational training"),
    "jobs": ("Việc làm", "Jobs"),
    "loans": ("Vay vốn", "Loans"),
    "social_protection": ("Trợ giúp xã hội", "Social protection"),
}
COMMODITY_NAMES: dict[str, tuple[str, str]] = {
    "condoms": ("Bao cao su", "Condoms"),
    "lubricants": ("Chất bôi trơn", "Lubricants"),
    "leaflets": ("Tờ rơi", "Leaflets"),
    "self_test_kits": ("Bộ tự xét nghiệm HIV", "HIV self-test kits"),
}
SEX_NAMES = {"F": ("Nữ", "Female"), "M": ("Nam", "Male"), "T": ("Chuyển giới", "Transgender")}


@dataclass(frozen=True)
class Indicator:
    """One monitoring indicator."""

    code: str
    name_vi: str
    name_en: str
    definition_vi: str
    definition_en: str
    #: Person counts are suppressed from 1 to k-1 in what the department sees.
    counts_persons: bool
    #: none | sex_age | service | commodity
    disaggregation: str = "none"
    #: Values are whole numbers except hours.
    decimals: int = 0
    #: How a quarter or a year is made from the group's records: sum | distinct | last.
    aggregation: str = "sum"

    def name(self, locale: str) -> str:
        return self.name_en if str(locale).startswith("en") else self.name_vi

    def definition(self, locale: str) -> str:
        return self.definition_en if str(locale).startswith("en") else self.definition_vi

    @property
    def cells(self) -> tuple[str, ...]:
        """The published cell keys of this indicator, total first where there is one."""
        if self.disaggregation == "sex_age":
            return (TOTAL, *SEX_AGE_CELLS, UNKNOWN)
        if self.disaggregation == "service":
            return SERVICES
        if self.disaggregation == "commodity":
            return CORE_COMMODITIES
        return (TOTAL,)

    @property
    def has_total(self) -> bool:
        return self.disaggregation not in ("service", "commodity")

    @property
    def additive_in_year(self) -> bool:
        """Whether the months of one reporting year add up exactly to its quarters and
        year (sums, and persons reached for the first time in the year: each counts in
        exactly one month of a year). Cross-period suppression relies on this."""
        return self.aggregation == "sum" or self.code == "reached_first_time"

    def over_time(self, locale: str) -> str:
        """How a quarter or a year of this indicator is made, in the reader's language."""
        vi, en = OVER_TIME[self.code if self.code in OVER_TIME else self.aggregation]
        return en if str(locale).startswith("en") else vi

    def across_groups(self, locale: str) -> str:
        vi, en = ACROSS_GROUPS[self.counts_persons]
        return en if str(locale).startswith("en") else vi


AGGREGATIONS = ("sum", "distinct", "last")

#: How each aggregation adds up over time (the definitions page and the exports say it).
OVER_TIME: dict[str, tuple[str, str]] = {
    "sum": ("Cộng theo thời gian: số của quý, của năm là tổng các tháng.",
            "Over time: a quarter's or a year's figure is the sum of its months."),
    "distinct": ("Không cộng theo thời gian: số của quý, của năm được tính cho chính kỳ đó từ"
                 " dữ liệu của nhóm, mỗi người chỉ được tính một lần trong kỳ (số của quý nhỏ"
                 " hơn hoặc bằng tổng các tháng).",
                 "Not added over time: a quarter's or a year's figure is computed for that"
                 " period from the group's records, each person counted once in the period"
                 " (a quarter is at most the sum of its months)."),
    "last": ("Không cộng theo thời gian: số của quý, của năm là số của tháng cuối cùng của kỳ"
             " (số đang có ở cuối kỳ).",
             "Not added over time: a quarter's or a year's figure is the value of its last"
             " month (the state at the period's end)."),
    "reached_first_time": (
        "Mỗi người được tính một lần trong năm báo cáo, ở tháng lần đầu được tiếp cận: số của"
        " quý, của năm là tổng các tháng trong cùng năm báo cáo.",
        "Each person counts once in a reporting year, in the month first reached: a quarter's"
        " or a year's figure is the sum of its months within that reporting year."),
}
ACROSS_GROUPS: dict[bool, tuple[str, str]] = {
    True: ("Cộng giữa các nhóm: các nhóm không dùng chung mã khách hàng, nên một người được"
           " tính một lần ở mỗi nhóm đã gặp họ.",
           "Across groups: groups share no client identity, so a person is counted once in"
           " each group that served them."),
    False: ("Cộng giữa các nhóm: tổng của các nhóm.",
            "Across groups: the sum of the groups' figures."),
}


CATALOGUE: tuple[Indicator, ...] = (
    Indicator(
        "contacts", "Lượt tiếp cận", "Service contacts",
        "Số lượt tiếp cận trong tháng (gặp trực tiếp, trực tuyến và truyền thông nhóm nhỏ),"
        " không tính lượt đã xóa.",
        "Service contacts in the month (in person, online and small-group sessions),"
        " deleted contacts excluded.",
        counts_persons=False),
    Indicator(
        "reached", "Số người được tiếp cận", "Unique individuals reached",
        "Số khách hàng khác nhau (theo mã khách hàng) có ít nhất một lượt tiếp cận trong kỳ,"
        " theo giới và nhóm tuổi khi tiếp cận lần đầu.",
        "Distinct clients (by client code) with at least one contact in the period, by sex and"
        " age band at first contact.",
        counts_persons=True, disaggregation="sex_age", aggregation="distinct"),
    Indicator(
        "reached_first_time", "Số người được tiếp cận lần đầu trong năm",
        "Individuals reached for the first time this year",
        "Khách hàng có lượt tiếp cận trong kỳ và không có lượt nào trước đó trong cùng năm"
        " báo cáo (năm dương lịch, hoặc từ tháng bắt đầu năm tài chính do Sở đặt).",
        "Clients with a contact in the period and none earlier in the same reporting year"
        " (calendar year, or from the fiscal year's first month set by the department).",
        counts_persons=True, disaggregation="sex_age", aggregation="distinct"),
    Indicator(
        "group_sessions", "Buổi truyền thông nhóm nhỏ", "Small-group sessions",
        "Số buổi truyền thông nhóm nhỏ trong tháng.",
        "Small-group communication sessions held in the month.",
        counts_persons=False),
    Indicator(
        "group_session_participants", "Lượt người tham gia truyền thông nhóm nhỏ",
        "Small-group session participants",
        "Tổng số người tham gia các buổi truyền thông nhóm nhỏ trong tháng.",
        "Sum of participants of the month's small-group sessions.",
        counts_persons=True),
    Indicator(
        "online_contacts", "Lượt tiếp cận trực tuyến", "Online contacts",
        "Lượt tiếp cận qua Zalo, Messenger hoặc điện thoại trong tháng.",
        "Contacts made over Zalo, Messenger or phone in the month.",
        counts_persons=False),
    Indicator(
        "condoms", "Bao cao su đã phát", "Condoms given",
        "Số bao cao su phát trong các lượt tiếp cận của tháng.",
        "Condoms given at the month's contacts.", counts_persons=False),
    Indicator(
        "lubricants", "Chất bôi trơn đã phát", "Lubricants given",
        "Số gói chất bôi trơn phát trong các lượt tiếp cận của tháng.",
        "Lubricant sachets given at the month's contacts.", counts_persons=False),
    Indicator(
        "leaflets", "Tờ rơi đã phát", "Leaflets given",
        "Số tờ rơi phát trong các lượt tiếp cận của tháng.",
        "Leaflets given at the month's contacts.", counts_persons=False),
    Indicator(
        "self_test_kits", "Bộ tự xét nghiệm HIV đã phát", "HIV self-test kits given",
        "Số bộ tự xét nghiệm HIV phát trong các lượt tiếp cận của tháng.",
        "HIV self-test kits given at the month's contacts.", counts_persons=False),
    Indicator(
        "referred", "Số người được chuyển gửi", "Persons referred, by service",
        "Số người khác nhau được chuyển gửi trong kỳ, theo dịch vụ (ngày chuyển gửi trong"
        " kỳ; chuyển gửi không gắn mã khách hàng được tính mỗi lượt là một người).",
        "Distinct persons referred in the period, by service (referral date in the period; a"
        " referral without a client code counts as one person).",
        counts_persons=True, disaggregation="service", aggregation="distinct"),
    Indicator(
        "referral_completed", "Số người đã sử dụng dịch vụ được chuyển gửi",
        "Persons whose referral was completed, by service",
        "Số người khác nhau có chuyển gửi hoàn thành (đã đến dịch vụ) trong kỳ, theo dịch vụ.",
        "Distinct persons with a referral completed (service received) in the period, by"
        " service.",
        counts_persons=True, disaggregation="service", aggregation="distinct"),
    Indicator(
        "hiv_tested", "Số người được xét nghiệm HIV", "People tested for HIV",
        "Số khách hàng khác nhau được xét nghiệm HIV qua chuyển gửi, ngày xét nghiệm trong kỳ,"
        " theo giới và nhóm tuổi khi tiếp cận lần đầu (không tính tự xét nghiệm).",
        "Distinct clients tested for HIV through a referral, test date in the period, by sex"
        " and age band at first contact (self-tests not included).",
        counts_persons=True, disaggregation="sex_age", aggregation="distinct"),
    Indicator(
        "hiv_reactive_confirmed", "Số người có kết quả HIV phản ứng đã khẳng định",
        "People tested HIV reactive (confirmed)",
        "Số khách hàng khác nhau có kết quả xét nghiệm khẳng định HIV phản ứng, ngày khẳng"
        " định trong kỳ.",
        "Distinct clients whose confirmatory HIV test was reactive, confirmation date in the"
        " period.",
        counts_persons=True, disaggregation="sex_age", aggregation="distinct"),
    Indicator(
        "self_test_results", "Số người báo kết quả tự xét nghiệm HIV",
        "People who reported an HIV self-test result",
        "Số khách hàng khác nhau đã báo lại kết quả bộ tự xét nghiệm HIV được phát, ngày báo"
        " trong kỳ (kể cả khi không muốn nói kết quả).",
        "Distinct clients who reported the result of an HIV self-test kit they were given,"
        " report date in the period (a result they chose not to disclose included).",
        counts_persons=True, disaggregation="sex_age", aggregation="distinct"),
    Indicator(
        "linked_to_treatment", "Số người bắt đầu điều trị HIV trong 30 ngày",
        "People linked to HIV treatment within 30 days",
        "Số khách hàng khác nhau có kết quả HIV phản ứng đã khẳng định và bắt đầu điều trị"
        " trong vòng 30 ngày sau ngày khẳng định, ngày bắt đầu điều trị trong kỳ.",
        "Distinct clients with a confirmed reactive HIV result who started treatment within"
        " 30 days of the confirmation, treatment start date in the period.",
        counts_persons=True, disaggregation="sex_age", aggregation="distinct"),
    Indicator(
        "prep_started", "Số người bắt đầu dùng PrEP", "People who started PrEP",
        "Số khách hàng khác nhau có kết quả HIV không phản ứng, được chuyển gửi PrEP và bắt"
        " đầu dùng PrEP, ngày bắt đầu trong kỳ.",
        "Distinct clients with a non-reactive HIV result, referred to PrEP, who started PrEP,"
        " start date in the period.",
        counts_persons=True, disaggregation="sex_age", aggregation="distinct"),
    Indicator(
        "appointments_kept", "Lịch hẹn đã đến", "Appointments kept",
        "Số lịch hẹn trong tháng (theo giờ của nhóm) được ghi là đã đến.",
        "Appointments scheduled in the month (group's local time) marked as attended.",
        counts_persons=False),
    Indicator(
        "trainings_held", "Buổi tập huấn đã tổ chức", "Trainings held",
        "Số buổi tập huấn đã tổ chức bắt đầu trong tháng.",
        "Trainings held that started in the month.", counts_persons=False),
    Indicator(
        "training_participants", "Số người tham gia tập huấn", "Training participants",
        "Số thành viên khác nhau được điểm danh có mặt ở các buổi tập huấn của kỳ.",
        "Distinct members marked as attended at the period's trainings.",
        counts_persons=True, aggregation="distinct"),
    Indicator(
        "training_hours", "Số giờ tập huấn", "Training hours",
        "Tổng thời lượng (giờ) các buổi tập huấn đã tổ chức trong tháng.",
        "Total duration in hours of the trainings held in the month.",
        counts_persons=False, decimals=1),
    Indicator(
        "active_peer_educators", "Đồng đẳng viên đang hoạt động", "Active peer educators",
        "Thành viên vai trò đồng đẳng viên đã tham gia trước cuối tháng, chưa rời nhóm trước"
        " đầu tháng và không tạm nghỉ từ trước đầu tháng.",
        "Members in the peer educator role who joined by the month's end, had not left before"
        " its start and were not paused since before its start.",
        counts_persons=True, aggregation="last"),
    Indicator(
        "active_members", "Thành viên đang hoạt động", "Active members",
        "Mọi thành viên (mọi vai trò) đang hoạt động trong tháng, theo cùng quy tắc trên.",
        "Members of every role active in the month, by the same rule.",
        counts_persons=True, aggregation="last"),
    Indicator(
        "commodities_received", "Vật phẩm nhận vào kho", "Commodities received",
        "Số vật phẩm nhóm nhận vào kho trong tháng (theo phiếu nhận), theo loại vật phẩm.",
        "Commodities the group received into stock in the month (receipts), by commodity.",
        counts_persons=False, disaggregation="commodity"),
    Indicator(
        "stock_out_days", "Số ngày hết hàng", "Stock-out days",
        "Số ngày trong tháng mà số tồn cuối ngày trong sổ kho bằng 0 hoặc âm, theo loại vật"
        " phẩm (tính từ ngày đầu tiên nhóm ghi sổ vật phẩm đó).",
        "Days in the month whose closing ledger balance was zero or below, by commodity"
        " (counted from the group's first ledger entry for that commodity).",
        counts_persons=False, disaggregation="commodity"),
    Indicator(
        "stock_on_hand", "Tồn kho cuối tháng", "Stock on hand",
        "Số tồn trong sổ kho vào cuối tháng (nhận vào, trừ đã phát, cộng trừ điều chỉnh),"
        " theo loại vật phẩm; có thể âm khi đã phát nhiều hơn số ghi nhận vào.",
        "Ledger balance at the month's end (received, less given out, plus or minus"
        " adjustments), by commodity; negative when more was given out than recorded in.",
        counts_persons=False, disaggregation="commodity", aggregation="last"),
)

BY_CODE: dict[str, Indicator] = {i.code: i for i in CATALOGUE}


def get(code: str) -> Indicator:
    return BY_CODE[code]


def cell_label(cell: str, locale: str) -> str:
    """A readable label of a cell key (total, a sex and age band, a service)."""
    en = str(locale).startswith("en")
    if cell == TOTAL:
        return "Total" if en else "Tổng"
    if cell == UNKNOWN:
        return "Not recorded" if en else "Không ghi nhận"
    if cell in SERVICE_NAMES:
        vi, eng = SERVICE_NAMES[cell]
        return eng if en else vi
    if cell in COMMODITY_NAMES:
        vi, eng = COMMODITY_NAMES[cell]
        return eng if en else vi
    if ":" in cell:
        sex, band = cell.split(":", 1)
        vi, eng = SEX_NAMES.get(sex, (sex, sex))
        return f"{eng if en else vi} {band}"
    return cell


# --- figure arrays -----------------------------------------------------------------------------
#
# Each snapshot also keeps its published values as two arrays of numbers (NULL where hidden),
# so that the department's pages add up thousands of snapshots in SQL element by element
# instead of taking each JSON payload apart (services/glance.py). The layout follows
# FIGURE_ORDER, which only ever grows at its end: snapshots are immutable, and an older
# row's shorter arrays then simply have no figure for a newer indicator.

#: Indicator codes in the order of the figure arrays. Append only: a new indicator goes
#: at the end here, wherever it sits in the catalogue (tests/reports/test_glance.py checks
#: that every indicator is here).
FIGURE_ORDER: tuple[str, ...] = (
    "contacts", "reached", "reached_first_time", "group_sessions",
    "group_session_participants", "online_contacts", "condoms", "lubricants", "leaflets",
    "self_test_kits", "referred", "referral_completed", "hiv_tested", "hiv_reactive_confirmed",
    "self_test_results", "linked_to_treatment", "prep_started", "appointments_kept",
    "trainings_held", "training_participants", "training_hours", "active_peer_educators",
    "active_members", "commodities_received", "stock_out_days", "stock_on_hand",
)


def headline_layout() -> list[tuple[str, str]]:
    """(code, part) of each element of a snapshot's headline array: an indicator with a
    total has its `total`; a by-service one has `shown` (the sum of its shown cells) and
    `hidden` (how many of its cells are hidden), which add up across snapshots as its
    headline does."""
    out: list[tuple[str, str]] = []
    for code in FIGURE_ORDER:
        out += [(code, TOTAL)] if BY_CODE[code].has_total else [(code, "shown"), (code, "hidden")]
    return out


def figure_layout() -> list[tuple[str, str]]:
    """(code, cell) of each element of a snapshot's figures array: every cell."""
    return [(code, cell) for code in FIGURE_ORDER for cell in BY_CODE[code].cells]


def figure_arrays(values: dict) -> tuple[list[float | None], list[float | None]]:
    """A payload's values as (headline, figures) arrays; None where a value is hidden."""
    def number(v):  # type: ignore[no-untyped-def]
        return None if v is None else float(v)

    headline: list[float | None] = []
    for code, part in headline_layout():
        cells = values.get(code, {})
        if part == TOTAL:
            headline.append(number(cells.get(TOTAL)))
        elif part == "shown":
            headline.append(float(sum(v for v in cells.values() if v is not None)))
        else:
            headline.append(float(sum(v is None for v in cells.values())))
    figures = [number(values.get(code, {}).get(cell)) for code, cell in figure_layout()]
    return headline, figures
