/* Practice quizzes on the course website: no kernel, no network.
   Each .course-quiz-question holds native inputs, a Submit button, a feedback area and its
   key (JSON: correct letters, per-choice explanations as HTML, in the page's language). */
(function () {
  "use strict";
  function judge(chosen, key) {
    var right = key.correct.slice().sort();
    var same = chosen.length === right.length && chosen.every(function (l, i) { return l === right[i]; });
    if (same) return "correct";
    var subset = chosen.every(function (l) { return right.indexOf(l) >= 0; });
    return key.multiple && subset ? "missing" : "wrong";
  }
  function setUp(section) {
    var ui = JSON.parse(section.querySelector("script.course-quiz-ui").textContent);
    var results = {};
    var questions = section.querySelectorAll(".course-quiz-question:not(.course-quiz-unsupported)");
    var score = section.querySelector(".course-quiz-score");
    function updateScore() {
      var ids = Object.keys(results);
      var right = ids.filter(function (id) { return results[id] === "correct"; }).length;
      score.textContent = ui.score.replace("{right}", right).replace("{total}", questions.length)
        .replace("{answered}", ids.length);
    }
    questions.forEach(function (box) {
      var key = JSON.parse(box.querySelector("script.course-quiz-key").textContent);
      var feedback = box.querySelector(".course-quiz-feedback");
      box.querySelector(".course-quiz-submit").addEventListener("click", function () {
        var chosen = Array.prototype.map.call(box.querySelectorAll("input:checked"), function (i) { return i.value; }).sort();
        feedback.className = "course-quiz-feedback";
        if (!chosen.length) {
          feedback.textContent = ui.empty;
          return;
        }
        var result = judge(chosen, key);
        results[box.dataset.qid] = result;
        var b = document.createElement("b");
        b.textContent = ui[result];
        var list = document.createElement("ul");
        chosen.forEach(function (letter) {
          var li = document.createElement("li");
          li.innerHTML = "<b>" + letter + ")</b> " + key.explain[letter];  // explanations: escaped HTML built from the bank
          list.appendChild(li);
        });
        feedback.replaceChildren(b, list);
        feedback.classList.add("course-quiz-" + result);
        updateScore();
      });
    });
  }
  function start() { document.querySelectorAll(".course-quiz-static").forEach(setUp); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
