/**
 * The status page's HTML and its browser script (plain JavaScript: it runs in the operator's
 * browser, not in Node). The script draws every value with textContent, never as HTML.
 */

/** The page; the script fills it from /admin/status/data every `refreshMs`. */
export function statusPageHtml(refreshMs: number): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Eligibility queue status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2733; background: #f4f6f8; }
  header { background: #1d2733; color: #fff; padding: 12px 24px; display: flex; gap: 24px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header .muted { color: #b8c2cc; }
  main { padding: 16px 24px; display: grid; gap: 16px; }
  section { background: #fff; border-radius: 6px; padding: 12px 16px; box-shadow: 0 1px 2px #0002; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  .cards { display: flex; gap: 12px; flex-wrap: wrap; }
  .card { background: #f4f6f8; border-radius: 6px; padding: 8px 12px; min-width: 110px; }
  .card b { display: block; font-size: 22px; }
  .strip { display: flex; gap: 6px; flex-wrap: wrap; margin: 12px 0 4px; }
  .cell { width: 92px; height: 56px; border-radius: 6px; padding: 4px 6px; box-sizing: border-box; font-size: 12px; color: #fff; overflow: hidden; }
  .cell b { display: block; font-size: 13px; }
  .free { background: #c9d3dc; color: #1d2733; }
  .realtime { background: #d9480f; }
  .batch { background: #1971c2; }
  .reclaimable, .outside { background: #868e96; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e6eaee; white-space: nowrap; }
  th { font-weight: 600; color: #52606d; }
  td.num, th.num { text-align: right; }
  .open { color: #c92a2a; font-weight: 600; }
  .half-open { color: #e67700; font-weight: 600; }
  #error { color: #c92a2a; }
  .empty { color: #868e96; }
</style>
</head>
<body data-refresh-ms="${refreshMs}">
<header>
  <h1>Eligibility queue status</h1>
  <span class="muted">semaphore <span id="semaphore"></span></span>
  <span class="muted">updated <span id="updated">…</span>, every ${refreshMs / 1000} s</span>
  <span id="error"></span>
</header>
<main>
  <section>
    <h2>Allocation now</h2>
    <div class="cards" id="cards"></div>
    <div class="strip" id="strip"></div>
  </section>
  <section>
    <h2>Slots</h2>
    <table id="slots"><thead><tr>
      <th>Slot</th><th>State</th><th>Pool</th><th>Slot kind</th><th>Payer</th><th>Tenant</th>
      <th>Check</th><th class="num">Call age</th><th class="num">Held for</th>
      <th class="num">Reclaimable in (if its worker dies)</th>
    </tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Checks by priority</h2>
    <table id="queues"><thead><tr>
      <th>Priority</th><th class="num">Waiting</th><th class="num">Delayed (parked, backing off)</th>
      <th class="num">Active</th><th class="num">Completed last min</th><th class="num">Failed last min</th>
      <th class="num">Completed 15 min</th><th class="num">Failed 15 min</th>
    </tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Payers (breakers)</h2>
    <table id="payers"><thead><tr>
      <th>Payer</th><th>Breaker</th><th class="num">In flight</th><th class="num">Earned concurrency</th>
      <th class="num">Cap</th><th>Probe at</th>
    </tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Tenants</h2>
    <table id="tenants"><thead><tr>
      <th>Tenant (API key)</th><th class="num">In flight</th><th class="num">Weight</th><th class="num">Max concurrency</th>
    </tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Limits in force</h2>
    <table id="limits"><tbody></tbody></table>
  </section>
</main>
<script src="/admin/status/status.js" defer></script>
</body>
</html>
`;
}

/** The browser script: polls the data and redraws. */
export const statusPageScript = String.raw`'use strict';
(function () {
  var refreshMs = Number(document.body.dataset.refreshMs) || 2000;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function duration(ms) {
    if (ms === undefined || ms === null) return '';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 120000) return (ms / 1000).toFixed(1) + ' s';
    return Math.round(ms / 60000) + ' min';
  }
  function fill(id, rows, empty) {
    var body = document.querySelector('#' + id + ' tbody');
    var cols = document.querySelectorAll('#' + id + ' thead th').length || 2;
    body.replaceChildren();
    if (rows.length === 0) {
      var tr = el('tr');
      var td = el('td', 'empty', empty);
      td.colSpan = cols;
      tr.append(td);
      body.append(tr);
      return;
    }
    rows.forEach(function (row) {
      var tr = el('tr');
      Object.keys(row.data || {}).forEach(function (k) { tr.dataset[k] = row.data[k]; });
      row.cells.forEach(function (c) {
        var td = el('td', c.cls, c.text);
        tr.append(td);
      });
      body.append(tr);
    });
  }
  function num(v) { return { cls: 'num', text: v === undefined ? '' : v }; }
  function txt(v, cls) { return { cls: cls, text: v === undefined ? '' : v }; }

  function render(s) {
    var a = s.allocation;
    document.getElementById('semaphore').textContent = a.semaphore;
    document.getElementById('updated').textContent = new Date(s.at).toLocaleTimeString();
    var cards = document.getElementById('cards');
    cards.replaceChildren();
    [
      ['in use', a.inUse + ' of ' + a.capacity],
      ['realtime', a.inUseByPool.realtime],
      ['batch', a.inUseByPool.batch],
      ['free', a.free],
      ['reserve R', a.realtimeReserved],
      ['floor', a.realtimeFloor],
    ].forEach(function (c) {
      var card = el('div', 'card');
      card.append(el('b', '', c[1]), el('span', '', c[0]));
      cards.append(card);
    });
    var strip = document.getElementById('strip');
    strip.replaceChildren();
    s.slots.forEach(function (slot) {
      var cls = slot.state === 'free' ? 'free'
        : slot.state === 'reclaimable' ? 'reclaimable'
        : slot.state === 'outside allocation' ? 'outside' : (slot.pool || 'batch');
      var cell = el('div', 'cell ' + cls);
      cell.dataset.slot = slot.slot;
      cell.append(el('b', '', '#' + slot.slot + ' ' + (slot.state === 'in call' ? slot.pool : slot.state)));
      if (slot.payer) cell.append(el('div', '', slot.payer + ' · ' + slot.tenant));
      if (slot.callAgeMs !== undefined) cell.append(el('div', '', duration(slot.callAgeMs)));
      strip.append(cell);
    });
    fill('slots', s.slots.map(function (slot) {
      return {
        data: { slot: slot.slot, state: slot.state, pool: slot.pool || '' },
        cells: [
          num(slot.slot), txt(slot.state), txt(slot.pool), txt(slot.slotKind), txt(slot.payer),
          txt(slot.tenant), txt(slot.checkId), num(duration(slot.callAgeMs)),
          num(duration(slot.heldForMs)),
          num(slot.reclaimableInMs === undefined ? '' : slot.reclaimableInMs === 0 ? 'now' : duration(slot.reclaimableInMs)),
        ],
      };
    }), 'no slots');
    fill('queues', s.queues.map(function (q) {
      return {
        data: { priority: q.priority },
        cells: [txt(q.priority), num(q.waiting), num(q.delayed), num(q.active),
          num(q.completedLastMinute), num(q.failedLastMinute),
          num(q.completedLast15Minutes), num(q.failedLast15Minutes)],
      };
    }), 'no queues');
    fill('payers', s.payers.map(function (p) {
      return {
        data: { payer: p.payer, breaker: p.breaker },
        cells: [txt(p.payer), txt(p.breaker, p.breaker), num(p.inFlight), num(p.earnedConcurrency),
          num(p.cap), txt(p.probeAt ? new Date(p.probeAt).toLocaleTimeString() : '')],
      };
    }), 'no payer active in the last ten minutes');
    fill('tenants', s.tenants.map(function (t) {
      return {
        data: { tenant: t.tenant },
        cells: [txt(t.tenant), num(t.inFlight), num(t.weight),
          num(t.maxConcurrency === undefined ? 'no limit' : t.maxConcurrency)],
      };
    }), 'no tenant active in the last ten minutes');
    var l = s.limits;
    var caps = Object.keys(l.payers.caps).map(function (k) { return k + ': ' + l.payers.caps[k]; });
    var tenants = Object.keys(l.tenants).map(function (k) {
      var t = l.tenants[k];
      return k + ': weight ' + (t.weight === undefined ? 1 : t.weight) +
        (t.maxConcurrency === undefined ? '' : ', max ' + t.maxConcurrency);
    });
    fill('limits', [
      ['allocation L', l.allocation],
      ['realtime reserve R', l.realtimeReserved],
      ['lending', 'floor ' + l.lending.floor + ', realtime wait target ' + l.lending.waitTargetMs +
        ' ms at p' + l.lending.waitPercentile],
      ['payer cap', l.payers.defaultCap],
      ['payer caps', caps.join(', ') || 'none'],
      ['payer + NPI cap', l.payers.npiCap || 'none'],
      ['tenants', tenants.join('; ') || 'defaults'],
    ].map(function (r) { return { cells: [txt(r[0]), txt(r[1])] }; }), '');
  }

  function refresh() {
    fetch('/admin/status/data', { cache: 'no-store', credentials: 'same-origin' })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (s) {
        render(s);
        document.getElementById('error').textContent = '';
      })
      .catch(function (err) {
        document.getElementById('error').textContent = 'could not refresh: ' + err.message;
      })
      .then(function () { setTimeout(refresh, refreshMs); });
  }
  refresh();
})();
`;
