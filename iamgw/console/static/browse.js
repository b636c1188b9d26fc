// iamgw object browser. Every S3 call is made from here to a URL the console presigned
// (POST /iamgw/api/presign) with this session's credentials, on the gateway's own S3
// path: the same policies, audit and limits as any S3 client. No dependencies.
"use strict";

(() => {
  const root = document.getElementById("browser");
  if (!root) return;
  const state = {
    bucket: root.dataset.bucket || "",
    prefix: root.dataset.prefix || "",
    token: root.dataset.token || "",
    csrf: root.dataset.csrf || "",
  };
  const PAGE_SIZE = "100";
  const $ = (id) => document.getElementById(id);

  // ---- messages ----------------------------------------------------------------

  function say(text) {
    $("browse-status").textContent = text;
  }

  function complain(text) {
    const box = $("browse-messages");
    const line = document.createElement("p");
    line.className = "error";
    line.textContent = text;
    box.prepend(line);
    while (box.children.length > 5) box.lastElementChild.remove();
  }

  class ConsoleError extends Error {}

  // What a refused S3 call means, in words: the action the console asked for, on what,
  // and S3's own error code and message.
  function refusal(signed, status, xml) {
    const { code, message } = s3Error(xml);
    const detail = code ? ` (${code}${message ? `: ${message}` : ""})` : ` (HTTP ${status})`;
    if (status === 403 && (!code || code === "AccessDenied")) {
      return `Access denied: ${signed.action} on ${signed.resource}${detail}`;
    }
    return `${signed.action} on ${signed.resource} failed${detail}`;
  }

  function s3Error(text) {
    if (!text) return { code: "", message: "" };
    const doc = parseXml(text);
    if (!doc) return { code: "", message: "" };
    return { code: first(doc, "Code"), message: first(doc, "Message") };
  }

  // ---- S3 XML ------------------------------------------------------------------

  function parseXml(text) {
    const doc = new DOMParser().parseFromString(text, "application/xml");
    return doc.getElementsByTagName("parsererror").length ? null : doc;
  }

  function first(node, name) {
    const found = node.getElementsByTagNameNS("*", name)[0];
    return found ? found.textContent : "";
  }

  function children(node, name) {
    return Array.from(node.children).filter((c) => c.localName === name);
  }

  function child(node, name) {
    const found = children(node, name)[0];
    return found ? found.textContent : "";
  }

  // ---- the console's presign call and the S3 call --------------------------------

  async function presign(operation, key, params) {
    const body = { operation, bucket: operation === "ListBuckets" ? "" : state.bucket, key: key || "", params: params || {} };
    let response;
    try {
      response = await fetch("/iamgw/api/presign", {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", "x-iamgw-csrf": state.csrf },
        body: JSON.stringify(body),
      });
    } catch (e) {
      throw new ConsoleError("The gateway cannot be reached.");
    }
    if (response.status === 401) {
      throw new ConsoleError("Your session has ended: sign in again.");
    }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const why = answer.message ? `${answer.error}: ${answer.message}` : `HTTP ${response.status}`;
      const what = key ? `${state.bucket}/${key}` : state.bucket || "the bucket list";
      throw new ConsoleError(`The console refused to sign ${operation} on ${what} (${why})`);
    }
    return answer;
  }

  // One S3 call through a presigned URL: {ok, status, text, signed}.
  async function call(operation, key, params, init) {
    const signed = await presign(operation, key, params);
    let response;
    try {
      response = await fetch(signed.url, { method: signed.method, credentials: "omit", cache: "no-store", ...(init || {}) });
    } catch (e) {
      throw new ConsoleError(`${signed.action} on ${signed.resource} failed: the gateway cannot be reached.`);
    }
    const text = signed.method === "HEAD" ? "" : await response.text();
    return { ok: response.ok, status: response.status, text, signed };
  }

  // ---- formatting ------------------------------------------------------------------

  function size(bytes) {
    const n = Number(bytes);
    if (!Number.isFinite(n)) return "";
    if (n < 1024) return `${n} B`;
    const units = ["KiB", "MiB", "GiB", "TiB"];
    let value = n / 1024, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
  }

  function when(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    return date.toISOString().replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, " UTC");
  }

  function link(params) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v) query.set(k, v);
    const text = query.toString();
    return `/iamgw/browse${text ? "?" + text : ""}`;
  }

  function cell(row, label, content, className) {
    const td = document.createElement("td");
    td.dataset.label = label;
    if (className) td.className = className;
    if (content instanceof Node) td.append(content); else td.textContent = content;
    row.append(td);
    return td;
  }

  function button(text, className, onClick, label) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = className;
    b.textContent = text;
    if (label) b.setAttribute("aria-label", label);
    b.addEventListener("click", onClick);
    return b;
  }

  function timeNode(iso) {
    const t = document.createElement("time");
    t.dateTime = iso;
    t.textContent = when(iso);
    return t;
  }

  // ---- buckets -------------------------------------------------------------------

  async function listBuckets() {
    say("Loading buckets…");
    let answer;
    try {
      answer = await call("ListBuckets");
    } catch (e) {
      say("");
      complain(e.message);
      $("buckets-empty").hidden = false;
      return;
    }
    say("");
    if (!answer.ok) {
      complain(refusal(answer.signed, answer.status, answer.text));
      $("buckets-empty").hidden = false;
      return;
    }
    const doc = parseXml(answer.text);
    const tbody = $("buckets").tBodies[0];
    tbody.replaceChildren();
    const entries = doc ? Array.from(doc.getElementsByTagNameNS("*", "Bucket")) : [];
    for (const entry of entries) {
      const name = child(entry, "Name");
      const row = document.createElement("tr");
      const a = document.createElement("a");
      a.href = link({ bucket: name });
      a.textContent = name;
      a.className = "bucket-link";
      cell(row, "Bucket", a, "name");
      cell(row, "Created", timeNode(child(entry, "CreationDate")));
      tbody.append(row);
    }
    $("buckets").hidden = entries.length === 0;
    $("buckets-empty").hidden = entries.length !== 0;
    say(`${entries.length} bucket${entries.length === 1 ? "" : "s"}.`);
  }

  // ---- objects -------------------------------------------------------------------

  async function listObjects() {
    say("Loading…");
    const params = { prefix: state.prefix, delimiter: "/", "max-keys": PAGE_SIZE, "continuation-token": state.token };
    let answer;
    try {
      answer = await call("ListObjectsV2", "", params);
    } catch (e) {
      say("");
      complain(e.message);
      return;
    }
    if (!answer.ok) {
      say("");
      $("objects").hidden = true;
      complain(refusal(answer.signed, answer.status, answer.text));
      return;
    }
    const doc = parseXml(answer.text);
    if (!doc) {
      say("");
      complain("The listing could not be read.");
      return;
    }
    const result = doc.documentElement;
    const tbody = $("objects").tBodies[0];
    tbody.replaceChildren();
    let count = 0;
    for (const entry of children(result, "CommonPrefixes")) {
      const prefix = child(entry, "Prefix");
      const row = document.createElement("tr");
      row.className = "folder";
      const a = document.createElement("a");
      a.href = link({ bucket: state.bucket, prefix });
      a.textContent = prefix.slice(state.prefix.length);
      a.className = "folder-link";
      cell(row, "Name", a, "name");
      cell(row, "Size", "folder", "size");
      cell(row, "Last modified", "", "date");
      cell(row, "Actions", "", "actions");
      tbody.append(row);
      count += 1;
    }
    for (const entry of children(result, "Contents")) {
      const key = child(entry, "Key");
      if (key === state.prefix) continue; // the folder's own marker
      const name = key.slice(state.prefix.length);
      const row = document.createElement("tr");
      row.className = "object";
      row.dataset.key = key;
      cell(row, "Name", name, "name");
      const bytes = child(entry, "Size");
      const sizeCell = cell(row, "Size", size(bytes), "size");
      sizeCell.title = `${bytes} bytes`;
      cell(row, "Last modified", timeNode(child(entry, "LastModified")), "date");
      const actions = document.createElement("div");
      actions.className = "row-actions";
      actions.append(
        button("Download", "secondary small download", () => download(key), `Download ${name}`),
        button("Delete", "danger small delete", () => confirmDelete(key), `Delete ${name}`),
      );
      cell(row, "Actions", actions, "actions");
      tbody.append(row);
      count += 1;
    }
    $("objects").hidden = count === 0;
    $("objects-empty").hidden = count !== 0;
    const next = child(result, "NextContinuationToken");
    const truncated = child(result, "IsTruncated") === "true" && next;
    $("page-next").hidden = !truncated;
    if (truncated) $("page-next").href = link({ bucket: state.bucket, prefix: state.prefix, token: next });
    $("page-first").hidden = !state.token;
    $("page-first").href = link({ bucket: state.bucket, prefix: state.prefix });
    $("pager").hidden = !truncated && !state.token;
    say(`${count} item${count === 1 ? "" : "s"}${truncated || state.token ? " on this page" : ""}.`);
  }

  // ---- download: probed first, so that a refusal is shown here, not as an XML page ----

  async function download(key) {
    const name = key.split("/").pop() || "download";
    say(`Preparing ${name}…`);
    let answer;
    try {
      answer = await call("GetObject", key, { "response-content-disposition": "attachment" }, { headers: { range: "bytes=0-0" } });
    } catch (e) {
      say("");
      complain(e.message);
      return;
    }
    if (!answer.ok && answer.status !== 416) { // 416: an empty object has no byte 0
      say("");
      complain(refusal(answer.signed, answer.status, answer.text));
      return;
    }
    const a = document.createElement("a");
    a.href = answer.signed.url;
    a.download = name;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    say(`Downloading ${name}.`);
  }

  // ---- delete, after a confirmation ------------------------------------------------

  let pendingDelete = null;

  function confirmDelete(key) {
    pendingDelete = key;
    $("confirm-delete-key").textContent = `${state.bucket}/${key}`;
    $("confirm-delete").returnValue = ""; // Escape closes it without setting one
    $("confirm-delete").showModal();
    $("confirm-delete-cancel").focus();
  }

  async function remove(key) {
    say(`Deleting ${key}…`);
    let answer;
    try {
      answer = await call("DeleteObject", key);
    } catch (e) {
      say("");
      complain(e.message);
      return;
    }
    if (!answer.ok) {
      say("");
      complain(refusal(answer.signed, answer.status, answer.text));
      return;
    }
    await listObjects();
    say(`Deleted ${key}.`);
  }

  // ---- upload: one XHR PUT per file, its progress shown ----------------------------

  function put(signed, file, progress) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", signed.url);
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) {
          progress.max = event.total;
          progress.value = event.loaded;
        }
        progress.dataset.events = String(Number(progress.dataset.events || 0) + 1);
      });
      xhr.addEventListener("load", () => resolve({ ok: xhr.status >= 200 && xhr.status < 300, status: xhr.status, text: xhr.responseText }));
      xhr.addEventListener("error", () => resolve({ ok: false, status: 0, text: "" }));
      xhr.addEventListener("abort", () => resolve({ ok: false, status: 0, text: "" }));
      xhr.send(file);
    });
  }

  async function uploadOne(file) {
    const key = state.prefix + file.name;
    const item = document.createElement("li");
    item.className = "upload-item";
    item.dataset.key = key;
    const label = document.createElement("span");
    label.className = "upload-name";
    label.textContent = `${file.name} (${size(file.size)})`;
    const progress = document.createElement("progress");
    progress.max = file.size || 1;
    progress.value = 0;
    progress.setAttribute("aria-label", `Upload of ${file.name}`);
    const status = document.createElement("span");
    status.className = "upload-status";
    status.textContent = "waiting…";
    item.append(label, progress, status);
    $("uploads").append(item);

    let signed;
    try {
      signed = await presign("PutObject", key);
    } catch (e) {
      item.classList.add("failed");
      status.textContent = e.message;
      complain(e.message);
      return false;
    }
    status.textContent = "uploading…";
    const answer = await put(signed, file, progress);
    if (answer.ok) {
      progress.value = progress.max;
      item.classList.add("done");
      status.textContent = "uploaded";
      return true;
    }
    item.classList.add("failed");
    const text = answer.status === 0
      ? `${signed.action} on ${signed.resource} failed: the connection closed before an answer came (the gateway may have refused the request).`
      : refusal(signed, answer.status, answer.text);
    status.textContent = text;
    complain(text);
    return false;
  }

  async function upload(event) {
    event.preventDefault();
    const input = $("upload-files");
    const files = Array.from(input.files || []);
    if (!files.length) {
      complain("Choose one or more files to upload first.");
      input.focus();
      return;
    }
    $("upload-submit").disabled = true;
    let done = 0;
    for (const file of files) {
      if (await uploadOne(file)) done += 1;
    }
    $("upload-submit").disabled = false;
    input.value = "";
    say(`${done} of ${files.length} file${files.length === 1 ? "" : "s"} uploaded.`);
    if (done) await listObjects();
    say(`${done} of ${files.length} file${files.length === 1 ? "" : "s"} uploaded.`);
  }

  // ---- start -----------------------------------------------------------------------

  if (state.bucket) {
    $("upload-form").addEventListener("submit", upload);
    $("confirm-delete").addEventListener("close", () => {
      const key = pendingDelete;
      pendingDelete = null;
      if ($("confirm-delete").returnValue === "delete" && key) remove(key);
    });
    listObjects();
  } else {
    listBuckets();
  }
})();
