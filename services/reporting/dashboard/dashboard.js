// Louzhang dashboard: plain JavaScript over the reports API, no libraries, no build step.
// Every text that comes from the API is put into the page with textContent or as an attribute
// value, never parsed as HTML: issue titles are users' text.
(function () {
  "use strict";

  const REFRESH_MS = 15000;
  const TOKEN_KEY = "louzhang.dashboard.token";
  // Signed in on the workbench: the session cookie goes with every request, no token is pasted.
  const SESSION = "session";
  const LANG_KEY = "louzhang.dashboard.lang";
  const SVG = "http://www.w3.org/2000/svg";
  const TZ = "Asia/Shanghai";

  const I18N = {
    zh: {
      title: "楼长制工作看板",
      signInTitle: "登录",
      signInHelp: "粘贴管理员或工作人员令牌（louzhang token create）。令牌只保存在本标签页中。",
      signInStaff: "工作人员：用邮件登录链接登录",
      tokenLabel: "令牌",
      signIn: "登录",
      signOut: "退出登录",
      signedOut: "已退出登录。",
      filters: "筛选",
      from: "开始日期",
      to: "结束日期（含）",
      gridNode: "网格",
      service: "事项",
      all: "全部",
      reset: "重置",
      kpis: "核心指标",
      responseRate: "问题回应率",
      onTimeRate: "按时签收率",
      resolutionRate: "办结率",
      satisfactionRate: "满意度",
      visitCoverage: "走访覆盖率",
      total: "问题总数",
      acknowledged: "已签收",
      resolved: "已办结",
      overdueOpen: "超期未办结",
      visits: "走访次数",
      enterprises: "企业数",
      ratings: "{n} 条评价",
      trend: "趋势",
      day: "按日",
      week: "按周",
      month: "按月",
      chartCounts: "提交与办结",
      chartRate: "问题回应率",
      submitted: "提交",
      resolvedSeries: "办结",
      noData: "暂无数据",
      gridTree: "网格（总→分→点）",
      expandAll: "全部展开",
      collapseAll: "全部收起",
      expand: "展开",
      collapse: "收起",
      node: "网格",
      responseShort: "回应率",
      resolutionShort: "办结率",
      satisfactionShort: "满意度",
      ranking: "考核排名",
      rank: "名次",
      score: "得分",
      weights: "得分 = {response} × 回应率 + {resolution} × 办结率 + {satisfaction} × 满意度（百分制）",
      overdue: "督办：超期未办结",
      issueTitle: "标题",
      building: "楼宇",
      due: "办结时限",
      assignees: "责任人",
      noOverdue: "暂无超期未办结的问题",
      responsible: "责任人（当前）",
      late: "逾期（工作小时）",
      hours: "{n} 小时",
      status: "状态",
      close: "关闭",
      more: "加载更多",
      noIssues: "没有符合条件的问题",
      drillTitle: "{what} · {where}（{n} 条）",
      district: "全部",
      exportXlsx: "导出 Excel",
      exportCsv: "导出 CSV",
      openList: "查看问题清单",
      errDate: "日期格式应为 年-月-日，例如 2026-01-31。",
      closed: "已关闭",
      feedback: "已回访",
      statuses: "received:已受理,assigned:待签收,acknowledged:已签收,in_progress:办理中,resolved:已办结,closed:已关闭,rejected:已退单",
      updated: "更新于 {time}",
      paused: "已暂停（页面不可见）",
      listSep: "、",
      err401: "令牌无效或已过期，请重新登录。",
      err403: "此令牌无权查看报表（需要管理员或工作人员令牌）。",
      err403Filter: "无权查看：{detail}",
      err422: "筛选条件有误：{detail}",
      errDates: "开始日期须早于结束日期。",
      errDown: "服务暂时不可用，稍后自动重试。",
      errNetwork: "无法连接服务器，稍后自动重试。",
      errOther: "请求失败（{status}）：{detail}",
      calendarFallback:
        "工作日历缺少 {years} 年的官方节假日安排：相关的工作日时限暂按周一至周五计算，未计法定节假日和调休。请管理员补充国务院办公厅的安排（见 docs/calendar.md）。",
    },
    en: {
      title: "Louzhang dashboard",
      signInTitle: "Sign in",
      signInHelp: "Paste an admin or staff token (louzhang token create). It is kept in this tab only.",
      signInStaff: "Staff: sign in with an emailed link",
      tokenLabel: "Token",
      signIn: "Sign in",
      signOut: "Sign out",
      signedOut: "Signed out.",
      filters: "Filters",
      from: "From",
      to: "To (inclusive)",
      gridNode: "Grid node",
      service: "Service",
      all: "All",
      reset: "Reset",
      kpis: "Key figures",
      responseRate: "Response rate",
      onTimeRate: "On-time acknowledgement",
      resolutionRate: "Resolution rate",
      satisfactionRate: "Satisfaction",
      visitCoverage: "Visit coverage",
      total: "Issues",
      acknowledged: "Acknowledged",
      resolved: "Resolved",
      overdueOpen: "Overdue, open",
      visits: "Visits",
      enterprises: "Enterprises",
      ratings: "feedback: {n}",
      trend: "Trend",
      day: "Day",
      week: "Week",
      month: "Month",
      chartCounts: "Submitted and resolved",
      chartRate: "Response rate",
      submitted: "Submitted",
      resolvedSeries: "Resolved",
      noData: "No data",
      gridTree: "Grid (district → area → point)",
      expandAll: "Expand all",
      collapseAll: "Collapse all",
      expand: "Expand",
      collapse: "Collapse",
      node: "Grid node",
      responseShort: "Response",
      resolutionShort: "Resolution",
      satisfactionShort: "Satisfaction",
      ranking: "Ranking",
      rank: "Rank",
      score: "Score",
      weights: "Score = {response} × response + {resolution} × resolution + {satisfaction} × satisfaction (out of 100)",
      overdue: "Supervision: overdue and open",
      issueTitle: "Title",
      building: "Building",
      due: "Due",
      assignees: "Assignees",
      noOverdue: "No overdue open issues",
      responsible: "Responsible now",
      late: "Overdue (working hours)",
      hours: "{n} h",
      status: "Status",
      close: "Close",
      more: "Load more",
      noIssues: "No issues match",
      drillTitle: "{what} · {where} ({n})",
      district: "All",
      exportXlsx: "Export Excel",
      exportCsv: "Export CSV",
      openList: "List the issues",
      errDate: "Dates are year-month-day, e.g. 2026-01-31.",
      closed: "Closed",
      feedback: "Feedback given",
      statuses: "received:Received,assigned:To acknowledge,acknowledged:Acknowledged,in_progress:In progress,resolved:Resolved,closed:Closed,rejected:Rejected",
      updated: "Updated {time}",
      paused: "Paused (page hidden)",
      listSep: ", ",
      err401: "The token is invalid or has expired: please sign in again.",
      err403: "This token may not read reports (an admin or staff token is needed).",
      err403Filter: "Not allowed: {detail}",
      err422: "Invalid filter: {detail}",
      errDates: "The start date must be before the end date.",
      errDown: "The service is unavailable for now; retrying shortly.",
      errNetwork: "Cannot reach the server; retrying shortly.",
      errOther: "Request failed ({status}): {detail}",
      calendarFallback:
        "The working calendar has no official holiday arrangement for {years}: working-time deadlines reaching it count Monday to Friday, ignoring public holidays and make-up working days. An administrator should add the State Council's arrangement (see docs/calendar.md).",
    },
  };

  const RATES = [
    {
      field: "response_rate",
      label: "responseRate",
      measure: "acknowledged",
      sub: (s) => `${count(s.acknowledged)} / ${count(s.total)}`,
    },
    {
      field: "on_time_response_rate",
      label: "onTimeRate",
      measure: "acknowledged_on_time",
      sub: (s) => `${count(s.acknowledged_on_time)} / ${count(s.total)}`,
    },
    {
      field: "resolution_rate",
      label: "resolutionRate",
      measure: "resolved",
      sub: (s) => `${count(s.resolved)} / ${count(s.total)}`,
    },
    {
      field: "satisfaction_rate",
      label: "satisfactionRate",
      measure: "feedback",
      sub: (s) => t("ratings", { n: count(s.feedback) }),
    },
    {
      field: "visit_coverage_rate",
      label: "visitCoverage",
      sub: (s) => `${count(s.enterprises_visited)} / ${count(s.enterprises)}`,
    },
  ];
  const COUNTS = [
    { field: "total", label: "total", measure: "total" },
    { field: "acknowledged", label: "acknowledged", measure: "acknowledged" },
    { field: "resolved", label: "resolved", measure: "resolved" },
    { field: "overdue_open", label: "overdueOpen", alert: true, measure: "overdue_open" },
    { field: "visits", label: "visits" },
    { field: "enterprises", label: "enterprises" },
  ];

  // The label of each measure a list is drawn for (the figure's name on the page).
  const MEASURE_LABELS = {
    total: "total",
    acknowledged: "acknowledged",
    acknowledged_on_time: "onTimeRate",
    resolved: "resolved",
    overdue_open: "overdueOpen",
    feedback: "feedback",
  };
  const DRILL_PAGE = 50;

  const state = {
    drill: null, // {measure, node, figure, params, items, cursor}: the list of issues behind a figure
    lang: "zh",
    token: null,
    interval: "day",
    data: null,
    services: null,
    gridOptions: null,
    open: new Map(), // grid node id -> expanded, when the user chose
    timer: null,
    controller: null,
    updatedAt: null,
  };

  const $ = (id) => document.getElementById(id);

  // ---- text -------------------------------------------------------------

  function t(key, vars) {
    let text = (I18N[state.lang] && I18N[state.lang][key]) || I18N.zh[key] || key;
    if (vars) {
      for (const [name, value] of Object.entries(vars)) text = text.split(`{${name}}`).join(String(value));
    }
    return text;
  }

  const NUMBER = new Intl.NumberFormat("en-US");

  function count(n) {
    return n === null || n === undefined ? "—" : NUMBER.format(n);
  }

  function rate(r) {
    return r === null || r === undefined ? "—" : `${(r * 100).toFixed(1)}%`;
  }

  function when(iso, withSeconds) {
    if (!iso) return "—";
    const options = {
      timeZone: TZ,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    };
    if (withSeconds) {
      delete options.year;
      delete options.month;
      delete options.day;
      options.second = "2-digit";
    }
    // yyyy-mm-dd hh:mm in Shanghai, whatever the locale (zh-CN would write 2026/12/07).
    const parts = {};
    for (const part of new Intl.DateTimeFormat("en-GB", options).formatToParts(new Date(iso))) {
      parts[part.type] = part.value;
    }
    const time = `${parts.hour}:${parts.minute}${withSeconds ? `:${parts.second}` : ""}`;
    return withSeconds ? time : `${parts.year}-${parts.month}-${parts.day} ${time}`;
  }

  // An element with its text (never HTML), attributes and children.
  function el(tag, props, children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [name, value] of Object.entries(props)) {
        if (value === null || value === undefined || value === false) continue;
        if (name === "text") node.textContent = String(value);
        else if (name === "className") node.className = value;
        else node.setAttribute(name, value === true ? "" : String(value));
      }
    }
    for (const child of children || []) if (child) node.appendChild(child);
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function applyLang() {
    document.documentElement.lang = state.lang === "en" ? "en" : "zh-CN";
    document.title = t("title");
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    const button = $("lang");
    button.textContent = state.lang === "en" ? "中文" : "English";
    button.setAttribute("lang", state.lang === "en" ? "zh-CN" : "en");
    render();
  }

  // ---- messages and sign-in ------------------------------------------------

  function showMessage(text, kind) {
    const box = $("message");
    box.textContent = text;
    box.className = `message ${kind || "error"}`;
    box.hidden = false;
  }

  function hideMessage() {
    $("message").hidden = true;
  }

  function showSignin() {
    $("signin").hidden = false;
    $("board").hidden = true;
    $("signout").hidden = true;
    $("updated").textContent = "";
    $("token").value = "";
    $("token").focus();
  }

  function showBoard() {
    $("signin").hidden = true;
    $("board").hidden = false;
    $("signout").hidden = false;
  }

  function signIn(token) {
    token = token.trim().replace(/^Bearer\s+/i, "");
    if (!token) return;
    state.token = token;
    if (token !== SESSION) sessionStorage.setItem(TOKEN_KEY, token);
    hideMessage();
    showBoard();
    tick();
  }

  function signOut(reason) {
    if (state.token === SESSION && reason === t("signedOut")) {
      location.href = "/signout"; // the workbench's session ends there
      return;
    }
    stop();
    state.token = null;
    state.data = null;
    state.services = null;
    state.gridOptions = null;
    renderCalendar([]);
    sessionStorage.removeItem(TOKEN_KEY);
    showSignin();
    if (reason) showMessage(reason, reason === t("signedOut") ? "info" : "error");
  }

  // A #token=... fragment signs in once, then leaves the address bar.
  function tokenFromFragment() {
    if (!location.hash || location.hash.length < 2) return null;
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    if (token === null) return null;
    history.replaceState(null, "", location.pathname + location.search);
    return token;
  }

  // ---- the API -------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, detail) {
      super(`HTTP ${status}`);
      this.status = status;
      this.detail = detail;
    }
  }

  function describe(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map((d) => (d && d.msg ? d.msg : JSON.stringify(d))).join("; ");
    return detail === undefined ? "" : JSON.stringify(detail);
  }

  async function api(path, params, signal) {
    const url = new URL(path, location.origin);
    for (const [name, value] of Object.entries(params || {})) if (value) url.searchParams.set(name, value);
    const response = await fetch(url, {
      headers:
        state.token === SESSION
          ? { Accept: "application/json" }
          : { Authorization: `Bearer ${state.token}`, Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
      signal,
    });
    if (!response.ok) {
      let detail = response.statusText;
      try {
        detail = describe((await response.json()).detail);
      } catch (_) {
        // not JSON: keep the status text
      }
      throw new ApiError(response.status, detail);
    }
    return response.json();
  }

  // A date as typed (2026-1-5, 2026/01/05, 2026年1月5日, 20260105) as yyyy-mm-dd; "" when empty,
  // null when it is no date. The inputs are text: <input type=date> shows the browser locale's order.
  function parseDate(text) {
    const value = (text || "").trim();
    if (!value) return "";
    const m = value.match(/^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$/) || value.match(/^(\d{4})(\d{2})(\d{2})$/);
    if (!m) return null;
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const date = new Date(Date.UTC(y, mo - 1, d));
    if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
    return date.toISOString().slice(0, 10);
  }

  // The filter as the reports take it; {error} when a date is no date or the window is empty.
  function filterParams() {
    const from = parseDate($("f-from").value);
    const toDay = parseDate($("f-to").value);
    if (from === null || toDay === null) return { error: t("errDate") };
    const to = toDay ? shift(toDay, 1) : "";
    if (from && to && from >= to) return { error: t("errDates") };
    return { from, to, grid_node: $("f-grid").value, service_code: $("f-service").value };
  }

  async function refresh() {
    if (!state.token) return;
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
    const params = filterParams();
    if (params.error) {
      showMessage(params.error);
      return;
    }
    const signal = controller.signal;
    try {
      const [summary, series, grid, ranking, overdue, services, calendar] = await Promise.all([
        api("/v1/reports/summary", params, signal),
        api("/v1/reports/timeseries", { ...params, interval: state.interval }, signal),
        api("/v1/reports/grid", params, signal),
        api("/v1/reports/ranking", params, signal),
        api("/v1/reports/overdue", params, signal),
        state.services ? null : api("/v1/reports/breakdown", { by: "service_code" }, signal),
        api("/v1/reports/calendar", null, signal),
      ]);
      if (controller !== state.controller) return;
      if (services) state.services = services.items.map((row) => ({ id: row.key, name: row.name, depth: 0 }));
      if (!params.grid_node) state.gridOptions = flatten(grid, 0, []);
      state.data = {
        summary,
        series: series.items,
        interval: state.interval,
        window: { from: params.from, to: params.to },
        grid,
        ranking,
        overdue: overdue.items,
        calendarFallback: calendar.fallback_years,
      };
      state.updatedAt = new Date();
      hideMessage();
      render();
    } catch (error) {
      if (error.name === "AbortError" || controller !== state.controller) return;
      failed(error);
    } finally {
      if (controller === state.controller) state.controller = null;
    }
  }

  function failed(error) {
    if (!(error instanceof ApiError)) {
      showMessage(t("errNetwork"));
      return;
    }
    if (error.status === 401) signOut(t("err401"));
    else if (error.status === 403 && !state.data) signOut(t("err403"));
    else if (error.status === 403) showMessage(t("err403Filter", { detail: error.detail }));
    else if (error.status === 422) showMessage(t("err422", { detail: error.detail }));
    else if (error.status === 503 || error.status === 429) showMessage(t("errDown"));
    else showMessage(t("errOther", { status: error.status, detail: error.detail }));
  }

  // ---- live refresh: every 15 s while the tab is visible ---------------------

  async function tick() {
    clearTimeout(state.timer);
    state.timer = null;
    await refresh();
    schedule();
  }

  function schedule() {
    clearTimeout(state.timer);
    state.timer = null;
    if (state.token && !document.hidden) state.timer = setTimeout(tick, REFRESH_MS);
  }

  function stop() {
    clearTimeout(state.timer);
    state.timer = null;
    if (state.controller) state.controller.abort();
    state.controller = null;
  }

  document.addEventListener("visibilitychange", () => {
    if (!state.token) return;
    if (document.hidden) {
      stop();
      $("updated").textContent = t("paused");
    } else {
      tick();
    }
  });

  // ---- rendering --------------------------------------------------------------

  function render() {
    const data = state.data;
    if (!data) return;
    renderTiles(data.summary);
    renderCharts(data.series, data.interval, data.window);
    renderTree(data.grid);
    renderRanking(data.ranking);
    renderOverdue(data.overdue);
    renderDrill();
    renderCalendar(data.calendarFallback);
    renderOptions($("f-grid"), state.gridOptions || []);
    renderOptions($("f-service"), state.services || []);
    $("updated").textContent = state.updatedAt ? t("updated", { time: when(state.updatedAt.toISOString(), true) }) : "";
  }

  // The calendar banner: years without official holidays that open issues' deadlines reach.
  function renderCalendar(years) {
    const banner = $("calendar-banner");
    banner.hidden = !years || years.length === 0;
    banner.textContent = banner.hidden ? "" : t("calendarFallback", { years: years.join(t("listSep")) });
  }

  // Tiles are made once and then only their texts change: no flicker on refresh.
  function tile(container, spec, kind) {
    let node = container.querySelector(`[data-kpi="${spec.field}"]`);
    if (!node) {
      const props = { className: `tile ${kind}`, "data-kpi": spec.field };
      if (spec.measure) Object.assign(props, drillProps(spec.measure), { className: `tile ${kind} drill` });
      node = el("div", props, [
        el("div", { className: "label" }),
        el("div", { className: "value" }),
        kind === "rate" ? el("div", { className: "sub" }) : null,
      ]);
      container.appendChild(node);
    }
    return node;
  }

  // What makes an element open the list of the issues behind it (a click, or Enter / Space).
  function drillProps(measure) {
    return { "data-measure": measure, role: "button", tabindex: "0", title: t("openList") };
  }

  function renderTiles(summary) {
    for (const spec of RATES) {
      const node = tile($("rates"), spec, "rate");
      node.querySelector(".label").textContent = t(spec.label);
      node.querySelector(".value").textContent = rate(summary[spec.field]);
      node.querySelector(".sub").textContent = spec.sub(summary);
    }
    for (const spec of COUNTS) {
      const node = tile($("counts"), spec, "count");
      node.querySelector(".label").textContent = t(spec.label);
      node.querySelector(".value").textContent = count(summary[spec.field]);
      node.classList.toggle("alert", Boolean(spec.alert && summary[spec.field] > 0));
    }
  }

  // The calendar day in Shanghai, as YYYY-MM-DD.
  function today() {
    return new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" }).format(
      new Date(),
    );
  }

  function shift(date, days) {
    const [y, m, d] = date.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
  }

  // The bucket a day falls in, as the API names it: the day, its Monday, or the 1st of its month.
  function bucketOf(date, interval) {
    if (interval === "month") return `${date.slice(0, 7)}-01`;
    if (interval === "week") {
      const [y, m, d] = date.split("-").map(Number);
      return shift(date, -((new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7));
    }
    return date;
  }

  function step(period, interval, n) {
    if (interval === "month") {
      const [y, m] = period.split("-").map(Number);
      return new Date(Date.UTC(y, m - 1 + n, 1)).toISOString().slice(0, 10);
    }
    return shift(period, n * (interval === "week" ? 7 : 1));
  }

  const MIN_BUCKETS = { day: 14, week: 8, month: 6 };
  const MAX_BUCKETS = 1000;

  // Every bucket from the first with data (at least a few back) up to today or the end of the
  // filter, empty ones included, never before the filter's start; the latest MAX_BUCKETS.
  function buckets(items, interval, span) {
    if (!items.length) return [];
    const byPeriod = new Map(items.map((row) => [row.period, row]));
    const lastDay = span.to ? shift(span.to, -1) : today();
    let last = bucketOf(lastDay < today() ? lastDay : today(), interval);
    if (items[items.length - 1].period > last) last = items[items.length - 1].period;
    let first = step(last, interval, -(MIN_BUCKETS[interval] - 1));
    if (items[0].period < first) first = items[0].period;
    if (span.from && bucketOf(span.from, interval) > first) first = bucketOf(span.from, interval);
    if (step(first, interval, MAX_BUCKETS) <= last) first = step(last, interval, -(MAX_BUCKETS - 1));
    const out = [];
    for (let period = first; period <= last; period = step(period, interval, 1)) {
      out.push(byPeriod.get(period) || { period, total: 0, resolved: 0, response_rate: null });
    }
    return out;
  }

  // A round top for a count axis of four steps, each a whole number.
  function niceMax(value) {
    const rough = Math.max(1, value / 4);
    const magnitude = 10 ** Math.floor(Math.log10(rough));
    for (const f of [1, 2, 2.5, 5, 10]) {
      const unit = f * magnitude;
      if (unit >= rough && Number.isInteger(unit)) return unit * 4;
    }
    return 40 * magnitude;
  }

  function periodLabel(period, interval) {
    return interval === "month" ? period.slice(0, 7) : period.slice(5);
  }

  function frame(container, yMax, yFormat, rows, interval) {
    const width = Math.max(container.clientWidth || 600, 260);
    const height = 200;
    const pad = { left: 44, right: 10, top: 10, bottom: 26 };
    const plot = { w: width - pad.left - pad.right, h: height - pad.top - pad.bottom };
    const chart = svg("svg", {
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: "img",
      class: "chart-svg",
    });
    const y = (v) => pad.top + plot.h - (v / yMax) * plot.h;
    for (let i = 0; i <= 4; i++) {
      const v = (yMax * i) / 4;
      chart.appendChild(svg("line", { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v), class: "gridline" }));
      chart.appendChild(svg("text", { x: pad.left - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, yFormat(v)));
    }
    const slot = plot.w / Math.max(rows.length, 1);
    const every = Math.max(1, Math.ceil(rows.length / Math.max(2, Math.floor(plot.w / 64))));
    rows.forEach((row, i) => {
      if ((rows.length - 1 - i) % every !== 0) return;
      const x = pad.left + slot * (i + 0.5);
      chart.appendChild(
        svg("text", { x, y: height - 8, class: "axis", "text-anchor": "middle" }, periodLabel(row.period, interval)),
      );
    });
    return { chart, y, slot, pad, plot };
  }

  function renderCharts(items, interval, span) {
    const rows = buckets(items, interval, span);
    const counts = $("chart-counts");
    const rates = $("chart-rate");
    if (!rows.length) {
      counts.replaceChildren(el("p", { className: "empty", text: t("noData") }));
      rates.replaceChildren(el("p", { className: "empty", text: t("noData") }));
      return;
    }
    // Submitted and resolved: a pair of bars per bucket.
    const max = niceMax(Math.max(...rows.map((r) => r.total || 0)));
    const a = frame(counts, max, (v) => (Number.isInteger(v) ? String(v) : ""), rows, interval);
    const barW = Math.max(1, Math.min(24, (a.slot * 0.8) / 2));
    rows.forEach((row, i) => {
      const center = a.pad.left + a.slot * (i + 0.5);
      // A bucket's whole slot shows its figures on hover; its bars are drawn when not empty.
      const group = svg("g", { class: "bucket", "data-period": row.period });
      group.appendChild(
        svg("title", {}, `${row.period}  ${t("submitted")} ${count(row.total)}  ${t("resolvedSeries")} ${count(row.resolved)}`),
      );
      group.appendChild(
        svg("rect", { x: center - a.slot / 2, y: a.pad.top, width: a.slot, height: a.plot.h, class: "hit" }),
      );
      for (const [value, cls, x] of [
        [row.total || 0, "bar-total", center - barW],
        [row.resolved || 0, "bar-resolved", center],
      ]) {
        if (value <= 0) continue;
        const top = a.y(value);
        group.appendChild(svg("rect", { x, y: top, width: barW, height: a.y(0) - top, class: cls }));
      }
      a.chart.appendChild(group);
    });
    counts.replaceChildren(a.chart);

    // Response rate: a line, broken where a bucket has no issues.
    const b = frame(rates, 1, (v) => `${Math.round(v * 100)}%`, rows, interval);
    let path = "";
    let pen = false;
    const dots = [];
    rows.forEach((row, i) => {
      const x = b.pad.left + b.slot * (i + 0.5);
      if (row.response_rate === null || row.response_rate === undefined) {
        pen = false;
        return;
      }
      const yv = b.y(row.response_rate);
      path += `${pen ? "L" : "M"}${x.toFixed(1)},${yv.toFixed(1)}`;
      pen = true;
      const dot = svg("circle", { cx: x, cy: yv, r: rows.length > 60 ? 1.5 : 3, class: "dot-rate" });
      dot.appendChild(svg("title", {}, `${row.period}  ${t("responseRate")} ${rate(row.response_rate)}`));
      dots.push(dot);
    });
    if (path) b.chart.appendChild(svg("path", { d: path, class: "line-rate" }));
    for (const dot of dots) b.chart.appendChild(dot);
    rates.replaceChildren(b.chart);
  }

  function isOpen(node, depth) {
    return state.open.has(node.id) ? state.open.get(node.id) : depth < 2;
  }

  function treeNode(node, depth) {
    const f = node.figures || {};
    const hasChildren = node.children && node.children.length > 0;
    const open = hasChildren && isOpen(node, depth);
    const toggle = hasChildren
      ? el("button", {
          type: "button",
          className: "toggle",
          "aria-expanded": String(open),
          "aria-label": t(open ? "collapse" : "expand"),
          "data-node": node.id,
          text: open ? "▾" : "▸",
        })
      : el("span", { className: "toggle leaf", "aria-hidden": "true" });
    // Each figure opens the issues it counts within the node; the name opens all of them.
    const fig = (label, text, measure, cls) =>
      el("span", { className: `${cls || "fig"} drill`, "data-label": t(label), text, ...drillProps(measure) });
    const row = el("div", { className: "node-row" }, [
      el("span", { className: "node-name" }, [
        toggle,
        el("span", { className: "name drill", text: node.name, ...drillProps("total") }),
      ]),
      fig("total", count(f.total), "total"),
      fig("responseShort", rate(f.response_rate), "acknowledged"),
      fig("resolutionShort", rate(f.resolution_rate), "resolved"),
      fig("overdueOpen", count(f.overdue_open), "overdue_open", f.overdue_open > 0 ? "fig alert" : "fig"),
    ]);
    const item = el("li", { role: "treeitem", "data-node": node.id, "aria-expanded": hasChildren ? String(open) : null }, [
      row,
    ]);
    if (hasChildren) {
      const list = el("ul", { role: "group" }, node.children.map((child) => treeNode(child, depth + 1)));
      list.hidden = !open;
      item.appendChild(list);
    }
    return item;
  }

  function renderTree(grid) {
    $("tree").replaceChildren(treeNode(grid, 0));
  }

  function setAll(open) {
    const walk = (node) => {
      if (node.children && node.children.length) {
        state.open.set(node.id, open);
        node.children.forEach(walk);
      }
    };
    if (state.data) {
      walk(state.data.grid);
      renderTree(state.data.grid);
    }
  }

  function flatten(node, depth, out) {
    out.push({ id: node.id, name: node.name, depth });
    for (const child of node.children || []) flatten(child, depth + 1, out);
    return out;
  }

  // Options are replaced only when they change, so that an open list is not disturbed.
  function renderOptions(select, options) {
    const key = `${state.lang}|${JSON.stringify(options)}`;
    if (select.dataset.key === key) return;
    const value = select.value;
    const nodes = [el("option", { value: "", text: t("all") })];
    for (const option of options) {
      nodes.push(el("option", { value: option.id, text: `${"\u3000".repeat(option.depth)}${option.name}` }));
    }
    select.replaceChildren(...nodes);
    select.value = options.some((o) => o.id === value) ? value : "";
    select.dataset.key = key;
  }

  function cells(values) {
    return values.map(([label, text, cls]) => el("td", { "data-label": label, className: cls || null, text }));
  }

  function renderRanking(ranking) {
    const w = ranking.weights || {};
    $("weights").textContent = t("weights", {
      response: w.response,
      resolution: w.resolution,
      satisfaction: w.satisfaction,
    });
    const rows = ranking.items.map((row) =>
      el(
        "tr",
        { "data-node": row.key, className: "drill", ...drillProps("total") },
        cells([
          [t("rank"), String(row.rank), "num rank"],
          [t("node"), row.name, "name"],
          [t("score"), (row.score * 100).toFixed(1), "num"],
          [t("responseShort"), rate(row.response_rate), "num"],
          [t("resolutionShort"), rate(row.resolution_rate), "num"],
          [t("satisfactionShort"), rate(row.satisfaction_rate), "num"],
          [t("total"), count(row.total), "num"],
        ]),
      ),
    );
    if (!rows.length) rows.push(el("tr", {}, [el("td", { colspan: 7, className: "empty", text: t("noData") })]));
    $("ranking").tBodies[0].replaceChildren(...rows);
  }

  function names(people) {
    return (people || []).map((a) => a.name || a.id).join(t("listSep")) || "—";
  }

  function hours(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    return t("hours", { n: (seconds / 3600).toFixed(1) });
  }

  // The issue's title as a link to its workbench page (read-only for those who may not act).
  function titleCell(issue) {
    const link = el("a", { href: `/issues/${encodeURIComponent(issue.id)}`, text: issue.title || issue.id });
    return el("td", { "data-label": t("issueTitle"), className: "title" }, [link]);
  }

  function statusText(status) {
    const pairs = t("statuses").split(",").map((p) => p.split(":"));
    const found = pairs.find(([key]) => key === status);
    return found ? found[1] : status || "—";
  }

  function renderOverdue(items) {
    const badge = $("overdue-count");
    badge.textContent = count(items.length);
    badge.title = t("openList");
    const rows = items.map((issue) =>
      el("tr", { "data-issue": issue.id }, [
        titleCell(issue),
        ...cells([
          [t("building"), issue.building],
          [t("service"), issue.service],
          [t("due"), when(issue.resolve_due), "num alert"],
          [t("responsible"), names(issue.responsible || issue.assignees), "who"],
          [t("late"), hours(issue.overdue_working_seconds), "num alert late"],
        ]),
      ]),
    );
    if (!rows.length) rows.push(el("tr", {}, [el("td", { colspan: 6, className: "empty", text: t("noOverdue") })]));
    $("overdue").tBodies[0].replaceChildren(...rows);
  }

  // ---- the issues behind a figure ------------------------------------------------

  function nodeName(id) {
    const find = (n) => (n.id === id ? n : (n.children || []).map(find).find(Boolean));
    const found = (state.data && find(state.data.grid)) || (state.gridOptions || []).find((o) => o.id === id);
    return found ? found.name : id;
  }

  // `node`: a grid node of the tree or the ranking; none for the filter as it stands. The tree's
  // root is the filter as it stands too (a head's own part: naming it may reach outside their scope).
  function openDrill(measure, node, figure) {
    const params = filterParams();
    if (params.error) return showMessage(params.error);
    const root = state.data && state.data.grid ? state.data.grid.id : null;
    if (node && node !== root) params.grid_node = node;
    state.drill = { measure, node: node || null, figure, params, items: [], cursor: null };
    $("drill").hidden = false;
    renderDrill();
    loadDrill().then(() => $("drill").scrollIntoView({ block: "start" }));
  }

  async function loadDrill() {
    const drill = state.drill;
    if (!drill) return;
    try {
      const page = await api("/v1/reports/issues", {
        ...drill.params,
        measure: drill.measure,
        limit: String(DRILL_PAGE),
        cursor: drill.cursor,
      });
      if (drill !== state.drill) return;
      drill.items = drill.items.concat(page.items);
      drill.cursor = page.next_cursor;
      drill.loaded = true;
      renderDrill();
    } catch (error) {
      failed(error);
    }
  }

  function closeDrill() {
    state.drill = null;
    $("drill").hidden = true;
  }

  function renderDrill() {
    const drill = state.drill;
    if (!drill) return;
    const grid = state.data ? state.data.grid : null;
    const where = drill.params.grid_node ? nodeName(drill.params.grid_node) : grid ? grid.name : t("district");
    const n = drill.figure !== undefined && drill.figure !== null ? count(drill.figure) : count(drill.items.length);
    $("drill-title").textContent = t("drillTitle", { what: t(MEASURE_LABELS[drill.measure] || drill.measure), where, n });
    $("drill").dataset.measure = drill.measure;
    const rows = drill.items.map((issue) =>
      el("tr", { "data-issue": issue.id }, [
        titleCell(issue),
        ...cells([
          [t("status"), statusText(issue.status), "status"],
          [t("building"), issue.building || issue.building_id],
          [t("due"), when(issue.resolve_due), issue.overdue ? "num alert" : "num"],
          [t("responsible"), names(issue.responsible), "who"],
          [t("late"), "overdue_working_seconds" in issue ? hours(issue.overdue_working_seconds) : "", "num alert late"],
        ]),
      ]),
    );
    if (!rows.length && drill.loaded) {
      rows.push(el("tr", {}, [el("td", { colspan: 6, className: "empty", text: t("noIssues") })]));
    }
    $("drill-table").tBodies[0].replaceChildren(...rows);
    $("drill-more").hidden = !drill.cursor;
  }

  // A click (or Enter / Space) on anything that lists issues.
  function onDrill(event) {
    if (event.type === "keydown" && event.key !== "Enter" && event.key !== " ") return;
    if (event.target.closest("a, button.toggle")) return;
    const target = event.target.closest("[data-measure]");
    if (!target) return;
    event.preventDefault();
    const holder = target.closest("[data-node]");
    const node = holder ? holder.dataset.node : null;
    openDrill(target.dataset.measure, node, figureOf(target.dataset.measure, node));
  }

  // The figure a list is drawn for, as the page shows it (for the list's title).
  function figureOf(measure, node) {
    const data = state.data;
    if (!data) return null;
    if (!node) return data.summary[measure];
    const find = (n) => (n.id === node ? n : (n.children || []).map(find).find(Boolean));
    const found = find(data.grid);
    if (found) return found.figures[measure];
    const ranked = data.ranking.items.find((r) => r.key === node);
    return ranked ? ranked[measure] : null;
  }

  // ---- exports: the breakdown by grid node of what is on screen, as the API writes it --------

  async function download(kind) {
    const params = filterParams();
    if (params.error) return showMessage(params.error);
    const url = new URL(`/v1/reports/export.${kind}`, location.origin);
    for (const [name, value] of Object.entries({ ...params, by: "grid_node" })) if (value) url.searchParams.set(name, value);
    try {
      const response = await fetch(url, {
        headers: state.token === SESSION ? {} : { Authorization: `Bearer ${state.token}` },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (!response.ok) {
        let detail = response.statusText;
        try {
          detail = describe((await response.json()).detail);
        } catch (_) {
          // not JSON
        }
        throw new ApiError(response.status, detail);
      }
      const blob = await response.blob();
      const disposition = response.headers.get("content-disposition") || "";
      const named = disposition.match(/filename\*=UTF-8''([^;]+)/i);
      const link = el("a", {
        href: URL.createObjectURL(blob),
        download: named ? decodeURIComponent(named[1]) : `louzhang.${kind}`,
      });
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (error) {
      failed(error);
    }
  }

  // ---- wiring -------------------------------------------------------------------

  function setInterval_(interval) {
    state.interval = interval;
    for (const button of document.querySelectorAll("#interval button")) {
      button.setAttribute("aria-pressed", String(button.dataset.interval === interval));
    }
  }

  function start() {
    const saved = localStorage.getItem(LANG_KEY);
    state.lang = saved === "en" ? "en" : "zh";
    setInterval_("day");
    applyLang();

    $("lang").addEventListener("click", () => {
      state.lang = state.lang === "en" ? "zh" : "en";
      localStorage.setItem(LANG_KEY, state.lang);
      applyLang();
    });
    $("signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      signIn($("token").value);
    });
    $("signout").addEventListener("click", () => signOut(t("signedOut")));
    for (const id of ["f-from", "f-to"]) {
      $(id).addEventListener("change", () => {
        const date = parseDate($(id).value);
        if (date) $(id).value = date; // as the page writes dates: yyyy-mm-dd
        $(id).setAttribute("aria-invalid", String(date === null));
      });
    }
    for (const id of ["f-from", "f-to", "f-grid", "f-service"]) {
      $(id).addEventListener("change", () => {
        closeDrill();
        tick();
      });
    }
    $("f-reset").addEventListener("click", () => {
      for (const id of ["f-from", "f-to", "f-grid", "f-service"]) $(id).value = "";
      closeDrill();
      tick();
    });
    for (const id of ["rates", "counts", "tree", "ranking", "overdue-title"]) {
      $(id).addEventListener("click", onDrill);
      $(id).addEventListener("keydown", onDrill);
    }
    $("drill-close").addEventListener("click", closeDrill);
    $("drill-more").addEventListener("click", loadDrill);
    for (const button of document.querySelectorAll("[data-export]")) {
      button.addEventListener("click", () => download(button.dataset.export));
    }
    $("interval").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-interval]");
      if (!button || button.dataset.interval === state.interval) return;
      setInterval_(button.dataset.interval);
      tick();
    });
    $("tree").addEventListener("click", (event) => {
      const button = event.target.closest("button.toggle");
      if (!button) return;
      const item = button.closest("li");
      const open = button.getAttribute("aria-expanded") !== "true";
      state.open.set(button.dataset.node, open);
      button.setAttribute("aria-expanded", String(open));
      button.setAttribute("aria-label", t(open ? "collapse" : "expand"));
      button.textContent = open ? "▾" : "▸";
      item.setAttribute("aria-expanded", String(open));
      item.querySelector(":scope > ul").hidden = !open;
    });
    $("expand").addEventListener("click", () => setAll(true));
    $("collapse").addEventListener("click", () => setAll(false));
    let resizing = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizing);
      resizing = setTimeout(() => state.data && renderCharts(state.data.series, state.data.interval, state.data.window), 150);
    });
    window.addEventListener("hashchange", () => {
      const token = tokenFromFragment();
      if (token) signIn(token);
    });

    const token = tokenFromFragment() || sessionStorage.getItem(TOKEN_KEY);
    if (token) signIn(token);
    else signInBySession();
  }

  // A workbench session (the louzhang_session cookie) reads the reports as that person.
  async function signInBySession() {
    try {
      const response = await fetch("/v1/reports/summary", { credentials: "same-origin", cache: "no-store" });
      if (response.ok) {
        state.token = SESSION;
        hideMessage();
        showBoard();
        tick();
        return;
      }
    } catch (_) {
      // unreachable: the sign-in form below
    }
    showSignin();
  }

  start();
})();
