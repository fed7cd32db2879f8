// Passkeys (WebAuthn) on auth-service's pages: no framework, same origin (the CSP allows
// only 'self' scripts). A form marked data-passkey="register" or "authenticate" gets its
// options from data-options (a POST with the form's CSRF token), asks the browser's
// navigator.credentials, puts the answer (JSON, base64url fields) into the form's hidden
// "credential" field and submits the form normally: the server answers with a page.
(function () {
  "use strict";

  function fromB64url(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeList(list) {
    return (list || []).map(function (c) {
      return Object.assign({}, c, { id: fromB64url(c.id) });
    });
  }

  function creationOptions(json) {
    var pk = json.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    pk.user.id = fromB64url(pk.user.id);
    pk.excludeCredentials = decodeList(pk.excludeCredentials);
    // A passkey must be discoverable: "Sign in with a passkey" asks without a user name.
    pk.authenticatorSelection = Object.assign({}, pk.authenticatorSelection, {
      residentKey: "required",
      requireResidentKey: true
    });
    return { publicKey: pk };
  }

  function requestOptions(json) {
    var pk = json.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    pk.allowCredentials = decodeList(pk.allowCredentials);
    return { publicKey: pk };
  }

  function registrationJson(cred) {
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: toB64url(cred.response.attestationObject),
        clientDataJSON: toB64url(cred.response.clientDataJSON)
      },
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
  }

  function assertionJson(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: toB64url(r.authenticatorData),
        clientDataJSON: toB64url(r.clientDataJSON),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null
      },
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
  }

  function say(form, message) {
    var box = form.querySelector(".passkey-error");
    if (box) {
      box.textContent = message;
      box.hidden = false;
    }
  }

  function start(form, event) {
    event.preventDefault();
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(form, "This browser cannot use passkeys on this page.");
      return;
    }
    var register = form.getAttribute("data-passkey") === "register";
    var name = form.querySelector("input[name=name]");
    if (register && name && !name.value.trim()) {
      say(form, "Give the passkey a name first.");
      name.focus();
      return;
    }
    var body = new URLSearchParams();
    body.set("csrf_token", form.querySelector("input[name=csrf_token]").value);
    fetch(form.getAttribute("data-options"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json"
      },
      body: body.toString()
    })
      .then(function (res) {
        return res.text().then(function (text) {
          var json = null;
          try { json = JSON.parse(text); } catch (e) { json = null; }
          if (!res.ok || !json) {
            throw new Error((json && json.detail) ||
              "The passkey request failed: reload the page and try again.");
          }
          return json;
        });
      })
      .then(function (json) {
        return register
          ? navigator.credentials.create(creationOptions(json))
          : navigator.credentials.get(requestOptions(json));
      })
      .then(function (cred) {
        if (!cred) { throw new Error("No passkey was chosen."); }
        var answer = register ? registrationJson(cred) : assertionJson(cred);
        form.querySelector("input[name=credential]").value = JSON.stringify(answer);
        form.submit();
      })
      .catch(function (err) {
        var message = err && err.name === "NotAllowedError"
          ? "The passkey request was cancelled or timed out."
          : (err && err.message) || "The passkey request failed.";
        say(form, message);
      });
  }

  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    form.addEventListener("submit", function (event) { start(form, event); });
  });
})();
