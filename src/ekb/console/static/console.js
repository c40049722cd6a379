// The governance dashboard's "run now": POST /governance/report with the token the user typed. The token is
// sent with this one request and kept nowhere (not in storage, not on the server).
(function () {
  const form = document.getElementById("run-now");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = document.getElementById("run-now-result");
    const token = form.elements.token.value;
    form.elements.token.value = "";
    out.textContent = "Validating…";
    try {
      const answer = await fetch("/governance/report", {method: "POST",
        headers: {"Authorization": "Bearer " + token, "Accept": "application/json"}});
      const body = await answer.json();
      if (!answer.ok) { out.textContent = (body.message || answer.statusText); return; }
      out.textContent = "Recorded: " + body.counts.Violation + " violations, " + body.counts.Warning + " warnings, " +
        body.counts.Info + " infos. Reloading…";
      window.location.reload();
    } catch (err) {
      out.textContent = "The run failed: " + err;
    }
  });
})();
