// Authorize in a popup (seed 000's admin screen); reload when the callback reports back.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-bcbridge-authorize]");
  if (!button) return;
  event.preventDefault();
  var popup = window.open(button.dataset.url, "bcbridge-authorize", "width=520,height=720");
  if (!popup) window.location.href = button.dataset.url; // popup blocked: same window
});
function bcbridgeSignedIn(data) {
  if (data && data.bcbridge) window.location.reload();
}
window.addEventListener("message", function (event) {
  if (event.origin === window.location.origin) bcbridgeSignedIn(event.data);
});
if ("BroadcastChannel" in window) {
  new BroadcastChannel("bcbridge-oauth").onmessage = function (event) { bcbridgeSignedIn(event.data); };
}
