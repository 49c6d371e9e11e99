/* The candidate portal's behaviour: uploads with progress, live status, resumable video
   uploads, in-browser recording and autosaved drafts. Every page works without it; this
   makes it calmer. No inline scripts: the CSP allows only this file. */
"use strict";

(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  const $ = (id) => document.getElementById(id);

  function say(el, text, kind) {
    if (!el) return;
    el.textContent = text;
    el.classList.remove("error", "ok");
    if (kind) el.classList.add(kind);
  }

  function errorOf(xhrOrResponseText, fallback) {
    try {
      return JSON.parse(xhrOrResponseText).error || fallback;
    } catch (_) {
      return fallback;
    }
  }

  function mib(bytes) {
    return (bytes / 1048576).toFixed(bytes < 10485760 ? 1 : 0) + " MB";
  }

  /* ------------------------------------------------------------ drag and drop */

  function setupDropzones() {
    document.querySelectorAll("[data-dropzone]").forEach((zone) => {
      const input = zone.querySelector('input[type="file"]');
      ["dragenter", "dragover"].forEach((type) =>
        zone.addEventListener(type, (event) => {
          event.preventDefault();
          zone.classList.add("dragging");
        })
      );
      ["dragleave", "drop"].forEach((type) =>
        zone.addEventListener(type, () => zone.classList.remove("dragging"))
      );
      zone.addEventListener("drop", (event) => {
        event.preventDefault();
        if (!event.dataTransfer || !event.dataTransfer.files.length) return;
        const list = new DataTransfer();
        list.items.add(event.dataTransfer.files[0]);
        input.files = list.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      });
    });
  }

  /* ------------------------------------------------------------ notebook submission */

  function setupSubmit() {
    const form = $("submit-form");
    if (!form) return;
    const input = $("notebook");
    const message = $("submit-message");
    const box = $("submit-progress-box");
    const bar = $("submit-progress");
    const maxBytes = Number(form.dataset.maxBytes);

    function check(file) {
      if (!file) return "Choose your .ipynb notebook first.";
      if (!file.name.toLowerCase().endsWith(".ipynb"))
        return `“${file.name}” is not a notebook. Choose a file whose name ends in .ipynb.`;
      if (file.size > maxBytes)
        return `The notebook is ${mib(file.size)}; the limit is ${mib(maxBytes)}. Clear large outputs and try again.`;
      if (file.size === 0) return "The file is empty.";
      return "";
    }

    input.addEventListener("change", () => {
      const file = input.files[0];
      const problem = file ? check(file) : "";
      say(message, problem || (file ? `Ready to submit ${file.name} (${mib(file.size)}).` : ""), problem ? "error" : null);
    });

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const file = input.files[0];
      const problem = check(file);
      if (problem) {
        say(message, problem, "error");
        input.focus();
        return;
      }
      const button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      box.hidden = false;
      bar.value = 0;
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
      };
      xhr.onload = () => {
        button.disabled = false;
        if (xhr.status >= 200 && xhr.status < 300) {
          const body = JSON.parse(xhr.responseText);
          bar.value = 100;
          say(message, `Submission ${body.id} is queued. The list below updates as it runs.`, "ok");
          message.dataset.pendingSubmission = body.id;
          box.dataset.pendingSubmission = body.id;
          showWarnings(body.warnings || []);
          form.reset();
          refreshRows();
        } else {
          box.hidden = true;
          say(message, errorOf(xhr.responseText, "The upload did not work. Please try again."), "error");
        }
      };
      xhr.onerror = () => {
        button.disabled = false;
        box.hidden = true;
        say(message, "The connection dropped. Check your network and submit again.", "error");
      };
      const data = new FormData();
      data.append("notebook", file, file.name);
      xhr.send(data);
    });
  }

  /* The static read's warnings: likely failures, shown after the upload (never a refusal). */
  function showWarnings(warnings) {
    const list = $("submit-warnings");
    if (!list) return;
    list.replaceChildren(
      ...warnings.map((text) => {
        const item = document.createElement("li");
        item.textContent = text;
        return item;
      })
    );
    list.hidden = warnings.length === 0;
  }

  /* Out of tries: the form is disabled and says which rule, as the server renders it. */
  function showRefusal(refusal) {
    const fields = $("submit-fields");
    const closed = $("submit-closed");
    if (!fields || !closed) return;
    fields.disabled = Boolean(refusal);
    closed.hidden = !refusal;
    closed.textContent = refusal || "";
  }

  /* ------------------------------------------------------------ live status */

  let pollTimer = null;
  let lastStatuses = null;

  async function refreshRows() {
    const rows = $("submission-rows");
    if (!rows) return;
    clearTimeout(pollTimer);
    let body;
    try {
      const response = await fetch(rows.dataset.pollUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      body = await response.json();
    } catch (_) {
      pollTimer = setTimeout(refreshRows, 10000);
      return;
    }
    rows.innerHTML = body.html;
    if ($("left")) $("left").textContent = body.left;
    if ($("attempts-left")) $("attempts-left").textContent = body.attempts_left;
    showRefusal(body.refusal);
    if (lastStatuses) {
      const news = [];
      for (const [id, status] of Object.entries(body.statuses)) {
        if (lastStatuses[id] !== status) {
          const score = body.scores[id];
          news.push(
            status === "scored" && score !== null
              ? `Submission ${id} is scored: ${Number(score).toFixed(4)}.`
              : `Submission ${id} is ${status}.`
          );
        }
      }
      if (news.length) say($("announcer"), news.join(" "));
    }
    lastStatuses = body.statuses;
    clearFinishedNotices(body.statuses);
    if (body.active) pollTimer = setTimeout(refreshRows, 2000);
  }

  /* "Uploading" and "queued" belong to a run in progress: once it is final they go. */
  function clearFinishedNotices(statuses) {
    document.querySelectorAll("[data-pending-submission]").forEach((el) => {
      const status = statuses[el.dataset.pendingSubmission];
      if (status === "queued" || status === "running") return;
      delete el.dataset.pendingSubmission;
      if (el.classList.contains("flash")) el.remove();
      else if (el.id === "submit-progress-box") el.hidden = true;
      else say(el, "");
    });
  }

  /* Time so far, from the server's clock: the run's start is a host-side fact. */
  function showRunningFor(seconds) {
    const el = $("running-for");
    if (!el || seconds === null || seconds === undefined) return;
    const s = Math.round(seconds);
    el.textContent = s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
  }

  function setupPolling() {
    if ($("submission-rows")) refreshRows();
    const detail = document.querySelector("[data-poll-status]");
    if (!detail) return;
    const tick = async () => {
      try {
        const response = await fetch(detail.dataset.pollStatus, { headers: { Accept: "application/json" } });
        const body = await response.json();
        if (body.status !== detail.dataset.status) {
          window.location.reload(); // a new phase, or the end: the server renders it
          return;
        }
        showRunningFor(body.running_for_s);
      } catch (_) {
        /* try again on the next tick */
      }
      setTimeout(tick, 2000);
    };
    setTimeout(tick, 2000);
  }

  /* ------------------------------------------------------------ resumable video upload */

  function sniffVideo(bytes) {
    const b = new Uint8Array(bytes);
    if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return "video/webm";
    const tag = String.fromCharCode(b[4], b[5], b[6], b[7]);
    if (tag === "ftyp") return String.fromCharCode(b[8], b[9], b[10], b[11]) === "qt  " ? "video/quicktime" : "video/mp4";
    if (["moov", "mdat", "wide", "free"].includes(tag)) return "video/quicktime";
    return null;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  class VideoUploader {
    constructor(section) {
      this.section = section;
      this.maxBytes = Number(section.dataset.maxBytes);
      this.chunk = Number(section.dataset.chunkSize);
      this.box = $("video-progress-box");
      this.bar = $("video-progress");
      this.text = $("video-progress-text");
      this.message = $("video-message");
      this.resumeButton = $("video-resume");
      this.pending = section.dataset.pendingId
        ? { id: section.dataset.pendingId, size: Number(section.dataset.pendingSize) }
        : null;
      this.resumeButton.addEventListener("click", () => this.run());
    }

    async check(blob) {
      if (!blob.size) return "The video file is empty.";
      if (blob.size > this.maxBytes) return `The video is ${mib(blob.size)}; the limit is ${mib(this.maxBytes)}.`;
      const head = await blob.slice(0, 16).arrayBuffer();
      if (!sniffVideo(head)) return "This file is not an MP4, WebM or MOV video. Choose a video file.";
      return "";
    }

    request(method, url, body, onProgress) {
      return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open(method, url);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.setRequestHeader("X-CSRF-Token", csrf());
        if (method === "POST") xhr.setRequestHeader("Content-Type", "application/json");
        if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded);
        xhr.onload = () => {
          if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText));
          else reject({ status: xhr.status, message: errorOf(xhr.responseText, `The server answered ${xhr.status}.`) });
        };
        xhr.onerror = () => reject({ status: 0, message: "The connection dropped." });
        xhr.send(body);
      });
    }

    show(received, size) {
      const percent = size ? Math.floor((100 * received) / size) : 0;
      this.bar.value = percent;
      this.text.textContent = `${percent}% — ${mib(received)} of ${mib(size)}`;
    }

    async upload(blob) {
      const problem = await this.check(blob);
      if (problem) {
        say(this.message, problem, "error");
        return;
      }
      this.blob = blob;
      this.upload_id = null;
      if (this.pending && this.pending.size === blob.size) {
        this.upload_id = this.pending.id; // the same file again: continue where it stopped
      }
      this.pending = null;
      await this.run();
    }

    async run() {
      const blob = this.blob;
      if (!blob) return;
      this.resumeButton.hidden = true;
      this.box.hidden = false;
      say(this.message, "Uploading your video… you can keep using the page.");
      let failures = 0;
      let offset = 0;
      for (;;) {
        try {
          if (!this.upload_id) {
            const started = await this.request("POST", "/explanation/upload", JSON.stringify({ size: blob.size }));
            this.upload_id = started.id;
            this.chunk = started.chunk_size || this.chunk;
          }
          const status = await this.request("GET", `/explanation/upload/${this.upload_id}`);
          offset = status.received; // the server says how much it kept
          this.show(offset, blob.size);
          while (offset < blob.size) {
            const end = Math.min(offset + this.chunk, blob.size);
            const part = blob.slice(offset, end);
            const base = offset;
            const result = await this.request(
              "PUT",
              `/explanation/upload/${this.upload_id}?offset=${offset}`,
              part,
              (loaded) => this.show(base + loaded, blob.size)
            );
            offset = result.received;
            failures = 0;
            this.show(offset, blob.size);
            if (result.complete) break;
          }
          this.done();
          return;
        } catch (error) {
          if (error.status === 404) {
            this.upload_id = null; // the server forgot this upload: start over
          } else if (error.status && error.status !== 429 && error.status < 500) {
            say(this.message, error.message, "error");
            this.box.hidden = true;
            this.upload_id = null;
            return;
          }
          failures += 1;
          if (failures > 5) {
            say(this.message, `The connection keeps dropping. ${mib(offset)} are safely stored; press “Resume upload” when you are back online.`, "error");
            this.resumeButton.hidden = false;
            return;
          }
          say(this.message, `Connection lost at ${Math.floor((100 * offset) / blob.size)}%. Resuming…`);
          await sleep(Math.min(500 * 2 ** failures, 8000));
        }
      }
    }

    done() {
      this.bar.value = 100;
      this.text.textContent = "100% — done";
      say(this.message, "Your video is uploaded and saved.", "ok");
      const current = $("current-video");
      const player = current.querySelector("video");
      player.src = `${player.dataset.src}?v=${Date.now()}`;
      current.hidden = false;
      $("pending-notice")?.remove();
      this.section.dispatchEvent(new CustomEvent("video-uploaded"));
    }
  }

  /* ------------------------------------------------------------ recording */

  function setupRecorder(uploader) {
    const preview = $("recorder-preview");
    const buttons = {
      camera: $("camera-start"),
      start: $("record-start"),
      stop: $("record-stop"),
      upload: $("record-upload"),
      again: $("record-again"),
    };
    const time = $("record-time");
    let stream = null;
    let recorder = null;
    let recording = null;
    let started = 0;
    let clock = null;
    const show = (...names) =>
      Object.entries(buttons).forEach(([name, button]) => (button.hidden = !names.includes(name)));

    async function camera() {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
      } catch (error) {
        say(uploader.message, "The browser could not use your camera and microphone. Allow access, or upload a video file instead.", "error");
        return;
      }
      preview.hidden = false;
      preview.srcObject = stream;
      preview.muted = true;
      preview.controls = false;
      await preview.play().catch(() => {});
      show("start");
      buttons.start.focus();
    }

    function start() {
      const chunks = [];
      const type = ["video/webm;codecs=vp8,opus", "video/webm"].find((t) => MediaRecorder.isTypeSupported(t));
      recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
      recorder.ondataavailable = (e) => e.data.size && chunks.push(e.data);
      recorder.onstop = () => {
        recording = new Blob(chunks, { type: "video/webm" });
        preview.srcObject = null;
        preview.src = URL.createObjectURL(recording);
        preview.muted = false;
        preview.controls = true;
        show("upload", "again");
        say(uploader.message, `Recorded ${Math.round((Date.now() - started) / 1000)} seconds. Watch it, then upload it or record again.`);
        buttons.upload.focus();
      };
      recorder.start(1000);
      started = Date.now();
      clock = setInterval(() => (time.textContent = `Recording: ${Math.round((Date.now() - started) / 1000)} s`), 500);
      show("stop");
      say(uploader.message, "Recording… press “Stop recording” when you are done.");
      buttons.stop.focus();
    }

    function stop() {
      clearInterval(clock);
      time.textContent = "";
      recorder.stop();
    }

    buttons.camera.addEventListener("click", camera);
    buttons.start.addEventListener("click", start);
    buttons.stop.addEventListener("click", stop);
    buttons.again.addEventListener("click", () => {
      preview.removeAttribute("src");
      preview.srcObject = stream;
      preview.muted = true;
      preview.controls = false;
      preview.play().catch(() => {});
      recording = null;
      show("start");
      buttons.start.focus();
    });
    buttons.upload.addEventListener("click", () => {
      if (recording) uploader.upload(recording);
    });
  }

  function setupVideo() {
    const section = $("video-section");
    if (!section) return;
    const uploader = new VideoUploader(section);
    window.heldoutUploader = uploader; // lets tests and the console see the upload state
    $("video-file").addEventListener("change", (event) => {
      const file = event.target.files[0];
      if (file) uploader.upload(file);
    });
    setupRecorder(uploader);
  }

  /* ------------------------------------------------------------ written explanation */

  function setupText() {
    const form = $("text-form");
    if (!form) return;
    const area = $("text");
    const status = $("draft-status");
    const preview = $("preview");
    let timer = null;
    let saved = area.value;

    async function saveDraft(keepalive) {
      const text = area.value;
      if (text === saved) return;
      try {
        const response = await fetch(form.dataset.draftUrl, {
          method: "POST",
          keepalive: !!keepalive,
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf() },
          body: JSON.stringify({ text }),
        });
        const body = await response.json();
        if (!response.ok) throw new Error(body.error || "not saved");
        saved = text;
        preview.innerHTML = body.html; // sanitized on the server
        status.textContent = `Draft saved at ${new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}.`;
      } catch (error) {
        status.textContent = "Could not save the draft just now; it will be retried as you type.";
      }
    }

    area.addEventListener("input", () => {
      clearTimeout(timer);
      status.textContent = "Typing…";
      timer = setTimeout(saveDraft, 500);
    });
    window.addEventListener("pagehide", () => saveDraft(true));
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") saveDraft(true);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    setupDropzones();
    setupSubmit();
    setupPolling();
    setupVideo();
    setupText();
  });
})();
