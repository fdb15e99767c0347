// The task page, live: the hub's event stream of this task (/tasks/<id>/live, see hub/web/task_stream.py)
// appends the agent's output and swaps the parts that show the task's state (status, question and reply
// form, result, conversation, timeline) as they change, with no reload. Without EventSource, or while the
// stream keeps failing, a pending or running task's page reloads itself every few seconds, as it did before.
(function () {
  "use strict";
  var root = document.getElementById("task-live");
  if (!root || !root.dataset.stream) return;
  var refreshMs = (Number(root.dataset.refresh) || 3) * 1000;
  var status = (document.getElementById("task-status") || {}).textContent;
  var MAX_FAILURES = 5; // errors in a row, without the stream opening in between, before falling back
  var MAX_OUTPUT_CHARS = 200000; // the page keeps this much of the output; the API has all of it
  var failures = 0;
  var shown = {};

  function fallBack() {
    // Reloading would throw away a reply being written: only while the agent runs (or waits to).
    if (status === "pending" || status === "running") {
      window.setTimeout(function () { window.location.reload(); }, refreshMs);
    }
  }

  if (!window.EventSource) {
    fallBack();
    return;
  }

  function swap(id, html) {
    var part = document.getElementById(id);
    if (!part || typeof html !== "string" || shown[id] === html) return;
    shown[id] = html;
    var typing = document.getElementById("reply-message");
    var typed = typing ? typing.value : "";
    var focused = typing !== null && document.activeElement === typing;
    part.innerHTML = html; // the hub's own templates, escaped as on the first view
    var again = document.getElementById("reply-message");
    if (again && typed) again.value = typed;
    if (again && focused) again.focus();
  }

  function append(text) {
    var output = document.getElementById("task-output");
    if (!output) return;
    output.appendChild(document.createTextNode(text));
    var section = document.getElementById("task-output-section");
    if (section) section.hidden = false;
    var length = output.textContent.length;
    while (length > MAX_OUTPUT_CHARS && output.firstChild && output.firstChild !== output.lastChild) {
      length -= output.firstChild.textContent.length;
      output.removeChild(output.firstChild);
    }
  }

  var source = new EventSource(root.dataset.stream);
  source.addEventListener("open", function () { failures = 0; });
  source.addEventListener("output", function (event) { append(JSON.parse(event.data).text); });
  source.addEventListener("state", function (event) {
    var state = JSON.parse(event.data);
    status = state.status;
    swap("task-summary", state.summary);
    swap("task-history", state.history);
  });
  source.addEventListener("end", function () { source.close(); }); // finished: nothing more will come
  source.addEventListener("error", function () {
    // A stream that ended (its bounded life, the server stopping) reconnects on its own: CONNECTING.
    failures += 1;
    if (source.readyState === EventSource.CLOSED || failures >= MAX_FAILURES) {
      source.close();
      fallBack();
    }
  });
}());
