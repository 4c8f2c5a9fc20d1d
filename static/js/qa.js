// QA beside the player: notes as markers on the waveform (wavesurfer's regions plugin), a note
// at the playhead with `m`, deep links (?t=1:23), "copy link", and `n`/`p` through a review
// queue. The notes and the evaluation arrive by htmx and are re-read after every swap.
(function () {
  "use strict";
  const root = document.querySelector("[data-player]");
  const player = root && root.vpPlayer;
  let regions = null;

  if (player && window.WaveSurfer && WaveSurfer.Regions) {
    regions = player.wavesurfer.registerPlugin(WaveSurfer.Regions.create());
    regions.on("region-clicked", (region, event) => {
      event.stopPropagation();  // the waveform's own click would seek to the pixel instead
      player.seekTo(region.start);
    });
    player.wavesurfer.on("ready", drawMarkers);
    player.wavesurfer.on("redraw", () => { if (regions.getRegions().length === 0) drawMarkers(); });
  }

  function parseMoment(text) {
    const match = /^(?:(\d{1,2}):)?(\d{1,2}):(\d{1,2})$|^(\d{1,6})(?:[.,](\d+))?$/.exec((text || "").trim());
    if (!match) return null;
    if (match[4] !== undefined) return parseFloat(match[4] + "." + (match[5] || "0"));
    return (parseInt(match[1] || "0", 10) * 3600) + parseInt(match[2], 10) * 60 + parseInt(match[3], 10);
  }

  function notes() {
    return Array.from(document.querySelectorAll("[data-note]"));
  }

  function drawMarkers() {
    if (!regions) return;
    regions.clearRegions();
    notes().forEach((item) => {
      const label = document.createElement("span");
      label.className = "note-marker";
      // The waveform lives in wavesurfer's shadow DOM, out of reach of the page's CSS.
      Object.assign(label.style, {
        display: "inline-block", whiteSpace: "nowrap", fontSize: "11px", fontWeight: "700",
        lineHeight: "16px", padding: "0 4px", marginLeft: "2px", borderRadius: "3px",
        background: "#fef0c7", color: "#14213d", cursor: "pointer",
      });
      const tag = item.dataset.tag;
      const text = item.querySelector(".note-text");
      label.textContent = tag || "•";
      label.title = (text ? text.textContent : "").slice(0, 120);
      regions.addRegion({
        id: item.id,
        start: parseInt(item.dataset.atMs, 10) / 1000,
        content: label,
        color: "rgba(247, 144, 9, 0.9)",
        drag: false,
        resize: false,
      });
    });
    if (root) root.dataset.markers = String(notes().length);
  }

  function enhanceNotes() {
    const section = document.querySelector("#notes[data-notes]");
    if (!section) return;
    section.querySelectorAll("a[data-seek-ms]").forEach((link) => {
      link.addEventListener("click", (event) => {
        if (!player) return;  // no player on this page: the link opens one at that moment
        event.preventDefault();
        player.seekTo(parseInt(link.dataset.seekMs, 10) / 1000);
      });
    });
    section.querySelectorAll(".copy-link").forEach((button) => {
      if (!navigator.clipboard) return;
      button.hidden = false;
      button.addEventListener("click", () => {
        navigator.clipboard.writeText(button.dataset.link).then(() => {
          button.textContent = button.dataset.copied;
        }, () => { /* the link stays readable in the moment's own href */ });
      });
    });
    const mark = section.querySelector(".mark-now");
    if (mark && player) {
      mark.hidden = false;
      mark.addEventListener("click", () => noteHere());
      // Starting to write a note without choosing a moment: it is where the player is.
      const at = section.querySelector("#note-at");
      at.addEventListener("input", () => { at.dataset.chosen = "1"; });
      section.querySelector("#note-text").addEventListener("focus", () => {
        if (!at.dataset.chosen) at.value = player.clock(player.audio.currentTime);
      });
    }
    drawMarkers();
  }

  function noteHere() {
    const at = document.querySelector("#note-at");
    const text = document.querySelector("#note-text");
    if (!at || !text || !player) return false;
    at.value = player.clock(player.audio.currentTime);
    at.dataset.chosen = "1";
    text.focus();
    return true;
  }

  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.target && event.target.id === "notes") enhanceNotes();
  });
  // The panels replace themselves (outerHTML): the swapped-in element is the new one.
  document.body.addEventListener("htmx:afterSettle", () => {
    if (document.querySelector("#notes[data-notes]:not([data-enhanced])")) {
      document.querySelector("#notes[data-notes]").dataset.enhanced = "1";
      enhanceNotes();
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = event.target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    if (event.key === "m" && noteHere()) {
      event.preventDefault();
    } else if (event.key === "n" || event.key === "p") {
      const link = document.querySelector('a[data-nav="queue-' + (event.key === "n" ? "next" : "previous") + '"]');
      if (link) {
        event.preventDefault();
        link.click();
      }
    }
  });

  // A deep link: /recordings/<id>/?t=1:23 starts there.
  const start = parseMoment(new URLSearchParams(window.location.search).get("t"));
  if (player && start !== null) {
    const go = () => player.seekTo(start);
    if (player.audio.readyState >= 1) go();
    else player.audio.addEventListener("loadedmetadata", go, { once: true });
    root.dataset.startAt = String(start);
  }
})();
