// The SPARQL console: vendored YASGUI configured so that it never contacts another host. The endpoint is this
// server's /sparql and nothing else; completion of classes and properties comes from the model's own terms
// (listed in the page) instead of LOV; prefixes come from the list bundled in YASQE plus the project's own.
(function () {
  const cfg = JSON.parse(document.getElementById("console-config").textContent);
  const Yasqe = Yasgui.Yasqe;
  const builtin = Yasqe.Autocompleters;

  // Local completers, built on the built-in ones' position and IRI handling, with a fixed list (bulk).
  Yasqe.registerAutocompleter({...builtin.class, name: "localClass", bulk: true, autoShow: false,
    persistenceId: null, get: () => cfg.classes}, false);
  Yasqe.registerAutocompleter({...builtin.property, name: "localProperty", bulk: true, autoShow: false,
    persistenceId: null, get: () => cfg.properties}, false);
  const bundled = builtin.prefixes.get;
  Yasqe.registerAutocompleter({...builtin.prefixes, name: "localPrefixes", persistenceId: null,
    get: (yasqe) => bundled(yasqe).then((list) => cfg.prefixLines.concat(list))}, false);
  const completers = ["variables", "localPrefixes", "localClass", "localProperty"];
  Yasqe.defaults.autocompleters = completers.slice();
  Yasqe.defaults.prefixCcApi = null;

  const endpoint = new URL(cfg.endpoint, window.location.href).href;
  const yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: {endpoint: endpoint, method: "POST", acceptHeaderGraph: "text/turtle,*/*;q=0.9",
      acceptHeaderSelect: "application/sparql-results+json,*/*;q=0.9"},
    copyEndpointOnNewTab: false,
    endpointCatalogueOptions: {getData: () => [{endpoint: endpoint}], keys: []},
    persistenceId: "ekb-console",
    yasqe: {value: cfg.example, autocompleters: completers, prefixCcApi: null, editorHeight: "320px"},
    yasr: {prefixes: cfg.prefixes},
  });

  function tab() { return yasgui.getTab(); }
  // A tab restored from the browser's storage may name another endpoint: this console queries only its own.
  if (tab().getEndpoint() !== endpoint) tab().setEndpoint(endpoint);

  // IRIs in the results under the knowledge base's base open their local page, not the (unresolvable) IRI.
  function localise(root) {
    root.querySelectorAll("a[href^='" + cfg.base + "']").forEach((a) => {
      a.setAttribute("href", "/" + a.getAttribute("href").slice(cfg.base.length));
      a.removeAttribute("target");
    });
  }
  new MutationObserver(() => localise(document.getElementById("yasgui")))
    .observe(document.getElementById("yasgui"), {childList: true, subtree: true});

  document.querySelectorAll("button.load-query").forEach((button) => {
    button.addEventListener("click", () => {
      tab().setQuery(cfg.queries[button.dataset.name]);
    });
  });
  // Downloads: the editor's query sent again (POST, so a long query fits) in the chosen format, saved as a file.
  document.querySelectorAll("a.download").forEach((link) => {
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      const out = document.getElementById("download-result");
      const body = new URLSearchParams({query: tab().getQuery(), format: link.dataset.format});
      const answer = await fetch(endpoint, {method: "POST", body: body});
      if (!answer.ok) {
        const error = await answer.json().catch(() => ({message: answer.statusText}));
        out.textContent = link.dataset.format + ": " + error.message;
        return;
      }
      out.textContent = "";
      const save = document.createElement("a");
      save.href = URL.createObjectURL(await answer.blob());
      save.download = "query-results." + link.dataset.extension;
      document.body.appendChild(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(save.href), 1000);
    });
  });
  window.ekbConsole = yasgui;
})();
