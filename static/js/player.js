// The recording player: wavesurfer.js drawn over an <audio> element that streams from the
// portal. Peaks come from the server (one small JSON), so playback never waits for the
// whole file. Without JavaScript the <audio> element keeps its native controls and the
// custom ones stay hidden (the `hidden` attribute always wins in portal.css).
(function () {
  "use strict";
  // Read now: document.currentScript is only set while this script runs. wavesurfer puts a
  // <style> in its shadow DOM, allowed by the Content-Security-Policy through this nonce.
  const nonce = document.currentScript ? document.currentScript.nonce : "";
  const root = document.querySelector("[data-player]");
  if (!root || !window.WaveSurfer) return;

  const audio = root.querySelector("audio");
  const controls = root.querySelector(".controls");
  const toggle = root.querySelector(".toggle");
  const current = root.querySelector(".current");
  const total = root.querySelector(".total");
  const speed = root.querySelector(".speed");
  const volume = root.querySelector(".volume");
  const seek = root.querySelector(".seek");
  const loading = root.querySelector(".player-loading");
  const state = root.querySelector(".player-state");
  const keys = root.querySelector(".keys");
  const download = root.querySelector(".download-row");
  const speeds = Array.from(speed.options).map((o) => parseFloat(o.value));
  const duration = parseFloat(root.dataset.duration) || 0;
  const SPEED_KEY = "vp-player-speed";
  const AUTOPLAY_KEY = "vp-player-autoplay";
  let failedAlready = false;
  let seeking = false;

  audio.controls = false;
  controls.hidden = false;
  seek.hidden = false;
  keys.hidden = false;
  root.classList.add("enhanced");

  const wavesurfer = WaveSurfer.create({
    container: root.querySelector(".waveform"),
    media: audio,
    peaks: [new Array(400).fill(0.02)],
    duration: duration,
    height: 88,
    waveColor: "#a7b6c8",
    progressColor: "#0b6bcb",
    cursorColor: "#14213d",
    cursorWidth: 2,
    barWidth: 2,
    barGap: 1,
    barRadius: 1,
    dragToSeek: true,
    cspNonce: nonce,
  });

  fetch(root.dataset.peaksUrl, { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
    .then((data) => {
      if (data.peaks && data.peaks.length) {
        // Same source as the element already has: wavesurfer redraws without reloading it.
        return wavesurfer.load(audio.currentSrc || audio.src, [data.peaks],
                               data.duration || duration);
      }
      return null;
    })
    .then(() => { root.dataset.peaks = "loaded"; })
    .catch(() => { root.dataset.peaks = "unavailable"; });

  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds || 0));
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = String(seconds % 60).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + s : m + ":" + s;
  }

  function knownDuration() {
    return isFinite(audio.duration) && audio.duration > 0 ? audio.duration : duration;
  }

  function showTime() {
    const length = knownDuration();
    current.textContent = clock(audio.currentTime);
    total.textContent = clock(length);
    seek.max = String(Math.max(1, Math.floor(length)));
    if (!seeking) seek.value = String(Math.floor(audio.currentTime));
    seek.setAttribute("aria-valuetext", root.dataset.positionText
      .replace("{current}", clock(audio.currentTime)).replace("{total}", clock(length)));
  }

  function setState(name) {
    root.dataset.state = name;
  }

  function showPlaying() {
    const playing = !audio.paused;
    toggle.setAttribute("aria-label", playing ? root.dataset.labelPause : root.dataset.labelPlay);
    toggle.firstElementChild.textContent = playing ? "❚❚" : "▶";
    if (root.dataset.state !== "error" && root.dataset.state !== "unavailable") {
      setState(playing ? "playing" : "paused");
    }
  }

  // A slow upstream: say so instead of a frozen 0:00 over a flat waveform.
  function showLoading(on) {
    loading.hidden = !on || root.dataset.state === "error" || root.dataset.state === "unavailable";
    root.setAttribute("aria-busy", on ? "true" : "false");
  }

  function seekTo(seconds) {
    audio.currentTime = Math.min(Math.max(0, seconds), knownDuration());
    showTime();
  }

  function seekBy(delta) {
    seekTo(audio.currentTime + delta);
  }

  function setSpeed(rate, remember) {
    if (speeds.indexOf(rate) < 0) return;
    audio.playbackRate = rate;
    audio.defaultPlaybackRate = rate;
    speed.value = String(rate);
    root.dataset.speed = String(rate);
    if (remember) {
      try { localStorage.setItem(SPEED_KEY, String(rate)); } catch (e) { /* private mode */ }
    }
  }

  function stepSpeed(step) {
    const index = speeds.indexOf(audio.playbackRate);
    setSpeed(speeds[Math.min(speeds.length - 1, Math.max(0, (index < 0 ? 1 : index) + step))], true);
  }

  function play() {
    const attempt = audio.play();
    if (attempt && attempt.catch) attempt.catch(() => showPlaying());
  }

  // Next and previous of the list: the next recording starts playing on its own.
  function go(which) {
    const link = document.querySelector('a[data-nav="' + which + '"]');
    if (!link) return false;
    try { sessionStorage.setItem(AUTOPLAY_KEY, "1"); } catch (e) { /* plays on click then */ }
    link.click();
    return true;
  }
  document.querySelectorAll('a[data-nav="next"], a[data-nav="previous"]').forEach((link) => {
    link.addEventListener("click", () => {
      try { sessionStorage.setItem(AUTOPLAY_KEY, "1"); } catch (e) { /* ignore */ }
    });
  });

  toggle.addEventListener("click", () => (audio.paused ? play() : audio.pause()));
  root.querySelector(".back").addEventListener("click", () => seekBy(-10));
  root.querySelector(".forward").addEventListener("click", () => seekBy(10));
  speed.addEventListener("change", () => setSpeed(parseFloat(speed.value), true));
  volume.addEventListener("input", () => { audio.volume = parseFloat(volume.value); });
  seek.addEventListener("input", () => { seeking = true; seekTo(parseFloat(seek.value)); });
  seek.addEventListener("change", () => { seeking = false; seekTo(parseFloat(seek.value)); });
  audio.addEventListener("timeupdate", showTime);
  audio.addEventListener("loadedmetadata", () => { showTime(); showLoading(false); });
  audio.addEventListener("canplay", () => showLoading(false));
  audio.addEventListener("playing", () => showLoading(false));
  audio.addEventListener("waiting", () => showLoading(true));
  audio.addEventListener("play", showPlaying);
  audio.addEventListener("pause", showPlaying);
  audio.addEventListener("ended", showPlaying);
  // The browser keeps the element's rate when the source loads; set it again to be sure.
  audio.addEventListener("loadedmetadata", () => setSpeed(parseFloat(speed.value), false));

  // <audio> reports "it failed", not why: ask the endpoint for one byte to tell a missing
  // recording from an upstream outage. A missing file offers no retry and no controls.
  function failed() {
    if (failedAlready) return;
    failedAlready = true;
    fetch(root.dataset.audioUrl, { headers: { Range: "bytes=0-0" }, credentials: "same-origin" })
      .then((r) => r.status)
      .catch(() => 0)
      .then((status) => {
        const missing = status === 404 || status === 410;
        const message = missing ? root.dataset.msgUnavailable
          : status >= 500 ? root.dataset.msgUpstream : root.dataset.msgFailed;
        state.querySelector(".player-message").textContent = message;
        state.querySelector(".retry").hidden = missing;
        state.hidden = false;
        controls.hidden = true;
        seek.hidden = true;
        keys.hidden = true;
        if (download) download.hidden = missing;
        setState(missing ? "unavailable" : "error");
        showLoading(false);
      });
  }
  audio.addEventListener("error", failed);
  if (audio.error) failed();  // it failed before this script ran
  state.querySelector(".retry").addEventListener("click", () => {
    failedAlready = false;
    state.hidden = true;
    controls.hidden = false;
    seek.hidden = false;
    keys.hidden = false;
    setState("loading");
    showLoading(true);
    const at = audio.currentTime;
    audio.load();
    audio.currentTime = at;
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (root.dataset.state === "unavailable") return;
    const tag = event.target.tagName;
    const typing = tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA";
    if (typing) return;
    if (event.key === " " && tag !== "BUTTON" && tag !== "A") {
      event.preventDefault();
      audio.paused ? play() : audio.pause();
    } else if (event.key === "ArrowRight" && event.shiftKey) {
      if (go("next")) event.preventDefault();
    } else if (event.key === "ArrowLeft" && event.shiftKey) {
      if (go("previous")) event.preventDefault();
    } else if (event.key === "ArrowLeft") {
      event.preventDefault();
      seekBy(-10);
    } else if (event.key === "ArrowRight") {
      event.preventDefault();
      seekBy(10);
    } else if (event.key === "+" || event.key === "=") {
      stepSpeed(1);
    } else if (event.key === "-" || event.key === "_") {
      stepSpeed(-1);
    }
  });

  let remembered = NaN;
  try { remembered = parseFloat(localStorage.getItem(SPEED_KEY)); } catch (e) { /* none */ }
  setSpeed(isNaN(remembered) ? 1 : remembered, false);
  if (audio.readyState < 1 && !audio.error) showLoading(true);
  showTime();
  showPlaying();
  if (audio.readyState >= 1) setState("paused");

  // What other scripts of the page (the QA notes, qa.js) may use.
  root.vpPlayer = { wavesurfer: wavesurfer, audio: audio, seekTo: seekTo, play: play, clock: clock };
  root.dispatchEvent(new CustomEvent("vp:player-ready", { bubbles: true }));

  let autoplay = false;
  try {
    autoplay = sessionStorage.getItem(AUTOPLAY_KEY) === "1";
    sessionStorage.removeItem(AUTOPLAY_KEY);
  } catch (e) { /* no storage: no autoplay */ }
  if (autoplay) play();
})();
