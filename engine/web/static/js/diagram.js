// The case diagram (a server-drawn SVG in .diagram-viewport): it starts at its drawn size, so labels are
// readable (WCAG 1.4.4), or fits the box's width when that is larger; the box scrolls to pan; the buttons
// zoom in and out around the middle of what is shown, "Ukuran asli" shows labels at their drawn size, and
// the box scrolls to pan (drag with the mouse, swipe on a phone). The zoom in percent of the drawn size is
// kept in the box's data-zoom attribute (read by the browser tests).
(function () {
  "use strict";

  var STEP = 1.4;
  var MAX = 3;

  function setUp(box) {
    var svg = box.querySelector("svg.bpmn-diagram");
    var viewBox = svg && svg.viewBox && svg.viewBox.baseVal;
    if (!viewBox || !viewBox.width) {
      return;
    }
    var drawn = viewBox.width;
    var scale = null; // null: fit the width

    var tools = document.createElement("div");
    tools.className = "diagram-tools";
    var status = document.createElement("span");
    status.setAttribute("role", "status");
    function button(text, title, action) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "secondary";
      b.textContent = text;
      b.title = title;
      b.setAttribute("aria-label", title);
      b.addEventListener("click", action);
      tools.appendChild(b);
      return b;
    }
    function fitScale() {
      return box.clientWidth / drawn;
    }
    function current() {
      return scale === null ? fitScale() : scale;
    }
    function apply(next) {
      var before = { w: box.scrollWidth, h: box.scrollHeight };
      var middle = { x: box.scrollLeft + box.clientWidth / 2, y: box.scrollTop + box.clientHeight / 2 };
      if (next === null || next <= fitScale()) {
        scale = null;
        svg.style.width = "100%";
      } else {
        scale = Math.min(next, MAX);
        svg.style.width = Math.round(drawn * scale) + "px";
      }
      box.scrollLeft = middle.x * (box.scrollWidth / before.w) - box.clientWidth / 2;
      box.scrollTop = middle.y * (box.scrollHeight / before.h) - box.clientHeight / 2;
      var percent = Math.round(current() * 100);
      box.dataset.zoom = String(percent);
      box.classList.toggle("grab", scale !== null);
      status.textContent = "Perbesaran " + percent + "%" + (scale === null ? " (selebar layar)" : "");
    }
    button("−", "Perkecil diagram", function () { apply(current() / STEP); });
    button("+", "Perbesar diagram", function () { apply(current() * STEP); });
    button("Sesuaikan lebar", "Sesuaikan diagram dengan lebar layar", function () { apply(null); });
    button("Ukuran asli", "Tampilkan diagram pada ukuran asli (label terbaca)", function () { apply(1); });
    tools.appendChild(status);
    box.parentNode.insertBefore(tools, box);

    // Drag to pan with a mouse; touch and pen keep the browser's own scrolling.
    var drag = null;
    box.addEventListener("pointerdown", function (event) {
      if (event.pointerType !== "mouse" || event.button !== 0 || scale === null) {
        return;
      }
      drag = { x: event.clientX, y: event.clientY, left: box.scrollLeft, top: box.scrollTop };
      box.classList.add("grabbing");
    });
    window.addEventListener("pointermove", function (event) {
      if (drag) {
        box.scrollLeft = drag.left - (event.clientX - drag.x);
        box.scrollTop = drag.top - (event.clientY - drag.y);
      }
    });
    window.addEventListener("pointerup", function () {
      drag = null;
      box.classList.remove("grabbing");
    });
    // Ctrl + wheel (and a trackpad pinch) zooms; a plain wheel scrolls the page as usual.
    box.addEventListener("wheel", function (event) {
      if (event.ctrlKey) {
        event.preventDefault();
        apply(event.deltaY < 0 ? current() * 1.15 : current() / 1.15);
      }
    }, { passive: false });
    window.addEventListener("resize", function () {
      if (scale === null) {
        apply(null);
      }
    });
    apply(1);
  }

  document.querySelectorAll(".diagram-viewport").forEach(setUp);
})();
