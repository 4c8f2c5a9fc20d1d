// The recording player: wavesurfer.js drawn over an <audio> element that streams from the
// portal. Peaks come from the server (one small JSON), so playback never waits for the
// whole file. Without JavaScript the <audio> element keeps its native controls.
(function () {
  "use strict";
  const root = document.querySelector("[data-player]");
  if (!root || !window.WaveSurfer) return;

  const audio = root.querySelector("audio");
  const controls = root.querySelector(".controls");
  const toggle = root.querySelector(".toggle");
  const current = root.querySelector(".current");
  const total = root.querySelector(".total");
  const speed = root.querySelector(".speed");
  const volume = root.querySelector(".volume");
  const state = root.querySelector(".player-state");
  const speeds = Array.from(speed.options).map((o) => parseFloat(o.value));
  const duration = parseFloat(root.dataset.duration) || 0;

  audio.controls = false;
  controls.hidden = false;
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
    current.textContent = clock(audio.currentTime);
    total.textContent = clock(knownDuration());
  }

  function showPlaying() {
    const playing = !audio.paused;
    toggle.setAttribute("aria-label", playing ? root.dataset.labelPause : root.dataset.labelPlay);
    toggle.firstElementChild.textContent = playing ? "❚❚" : "▶";
    root.dataset.state = playing ? "playing" : "paused";
  }

  function seekBy(delta) {
    const target = Math.min(Math.max(0, audio.currentTime + delta), knownDuration());
    audio.currentTime = target;
    showTime();
  }

  function setSpeed(rate) {
    audio.playbackRate = rate;
    speed.value = String(rate);
    root.dataset.speed = String(rate);
  }

  function stepSpeed(step) {
    const index = speeds.indexOf(audio.playbackRate);
    const next = speeds[Math.min(speeds.length - 1, Math.max(0, (index < 0 ? 1 : index) + step))];
    setSpeed(next);
  }

  function play() {
    const attempt = audio.play();
    if (attempt && attempt.catch) attempt.catch(() => {});
  }

  toggle.addEventListener("click", () => (audio.paused ? play() : audio.pause()));
  root.querySelector(".back").addEventListener("click", () => seekBy(-10));
  root.querySelector(".forward").addEventListener("click", () => seekBy(10));
  speed.addEventListener("change", () => setSpeed(parseFloat(speed.value)));
  volume.addEventListener("input", () => { audio.volume = parseFloat(volume.value); });
  audio.addEventListener("timeupdate", showTime);
  audio.addEventListener("loadedmetadata", showTime);
  audio.addEventListener("play", showPlaying);
  audio.addEventListener("pause", showPlaying);
  audio.addEventListener("ended", showPlaying);

  // <audio> reports "it failed", not why: ask the endpoint for one byte to tell a missing
  // recording from an upstream outage.
  function failed() {
    fetch(root.dataset.audioUrl, { headers: { Range: "bytes=0-0" }, credentials: "same-origin" })
      .then((r) => r.status)
      .catch(() => 0)
      .then((status) => {
        const message = status === 404 ? root.dataset.msgUnavailable
          : status >= 500 ? root.dataset.msgUpstream : root.dataset.msgFailed;
        state.querySelector(".player-message").textContent = message;
        state.hidden = false;
        state.querySelector(".retry").hidden = status === 404;
        controls.hidden = true;
        root.dataset.state = status === 404 ? "unavailable" : "error";
      });
  }
  audio.addEventListener("error", failed);
  if (audio.error) failed();  // it failed before this script ran
  state.querySelector(".retry").addEventListener("click", () => {
    state.hidden = true;
    controls.hidden = false;
    const at = audio.currentTime;
    audio.load();
    audio.currentTime = at;
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = event.target.tagName;
    const typing = tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA";
    if (event.key === " " && !typing && tag !== "BUTTON" && tag !== "A") {
      event.preventDefault();
      audio.paused ? play() : audio.pause();
    } else if (event.key === "ArrowLeft" && !typing) {
      event.preventDefault();
      seekBy(-10);
    } else if (event.key === "ArrowRight" && !typing) {
      event.preventDefault();
      seekBy(10);
    } else if ((event.key === "+" || event.key === "=") && !typing) {
      stepSpeed(1);
    } else if ((event.key === "-" || event.key === "_") && !typing) {
      stepSpeed(-1);
    }
  });

  showTime();
  showPlaying();
})();
