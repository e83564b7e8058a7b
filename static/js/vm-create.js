/* The create-VM form: region follows the cloud, cluster and the network list follow the region, and
 * tags are checked as they are typed (key:value, one per line). The server checks all of it again,
 * so the form also works without this file (vms/forms.py VMCreateForm.clean).
 */
(function () {
  "use strict";

  var form = document.getElementById("vm-create-form");
  if (!form) {
    return;
  }
  var cloud = form.querySelector('select[name="cloud_provider"]');
  var region = form.querySelector('select[name="region"]');
  var cluster = form.querySelector('select[name="cluster"]');
  var networkInput = form.querySelector('input[name="network_id"]');
  var networks = document.getElementById("vm-networks");
  var allNetworks = networks ? Array.prototype.slice.call(networks.options).map(function (option) {
    return { value: option.value, region: option.dataset.region };
  }) : [];

  // Show only the options that go with `wanted`; keep the selection when it still fits, else take the
  // first that does. Hidden options are also disabled: hidden alone still lets the keyboard pick them.
  function narrow(select, matches) {
    var first = null;
    var keep = false;
    Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
      var on = matches(group);
      group.hidden = !on;
      group.disabled = !on;
    });
    Array.prototype.forEach.call(select.options, function (option) {
      var group = option.parentElement.tagName === "OPTGROUP" ? option.parentElement : null;
      var on = (!group || !group.disabled) && matches(option);
      option.hidden = !on;
      option.disabled = !on;
      if (on && first === null) {
        first = option;
      }
      if (on && option.selected) {
        keep = true;
      }
    });
    if (!keep && first) {
      first.selected = true;
    }
  }

  function followCloud() {
    narrow(region, function (el) { return !el.dataset.cloud || el.dataset.cloud === cloud.value; });
    followRegion();
  }

  function followRegion() {
    if (cluster) {
      narrow(cluster, function (el) {
        return !el.dataset.region || (el.dataset.cloud === cloud.value && el.dataset.region === region.value);
      });
    }
    if (!networks) {
      return;
    }
    var here = allNetworks.filter(function (network) { return network.region === region.value; });
    networks.replaceChildren.apply(networks, here.map(function (network) {
      var option = document.createElement("option");
      option.value = network.value;
      option.textContent = network.region;
      option.dataset.region = network.region;
      return option;
    }));
    var known = allNetworks.some(function (network) { return network.value === networkInput.value; });
    var fits = here.some(function (network) { return network.value === networkInput.value; });
    // A network of another region is replaced by this region's first; one typed by hand is kept.
    if ((!networkInput.value || (known && !fits)) && here.length) {
      networkInput.value = here[0].value;
    } else if (known && !fits) {
      networkInput.value = "";
    }
  }

  var tags = form.querySelector("[data-tag-syntax]");
  var tagError = form.querySelector("[data-tag-error]");

  function checkTags() {
    var bad = tags.value.split("\n").map(function (line) { return line.trim(); }).filter(function (line) {
      if (!line) {
        return false;
      }
      var colon = line.indexOf(":");
      return colon < 1 || !line.slice(0, colon).trim();
    });
    var message = bad.length ? "“" + bad[0] + "”: write each tag as key:value, e.g. env:prod." : "";
    tags.setCustomValidity(message);
    tags.classList.toggle("is-invalid", Boolean(message));
    tagError.textContent = message;
    tagError.hidden = !message;
    tagError.classList.toggle("d-block", Boolean(message));
  }

  if (cloud && region) {
    cloud.addEventListener("change", followCloud);
    region.addEventListener("change", followRegion);
    followCloud();
  }
  if (tags && tagError) {
    tags.addEventListener("input", checkTags);
  }
  form.addEventListener("submit", function (event) {
    if (tags && tagError) {
      checkTags();
      if (tags.validationMessage) {
        event.preventDefault();
        tags.focus();
      }
    }
  });
})();
