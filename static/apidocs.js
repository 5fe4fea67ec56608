// Starts the API explorer of /api/docs (Swagger UI, served by essor itself from files embedded
// in the binary). A file, not an inline script: the pages' Content-Security-Policy forbids
// those. The validator badge is off: it would send the document to another site.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-url"),
    domNode: root,
    deepLinking: true,
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    defaultModelsExpandDepth: 0,
    docExpansion: "list"
  });
})();
