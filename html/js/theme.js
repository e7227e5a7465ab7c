// theme.js — light/dark theme, loaded as a classic script in <head> so the
// page never flashes the wrong colours.  The choice ("auto", "light",
// "dark") is kept in localStorage; "auto" follows prefers-color-scheme.
// <html data-theme="light|dark" data-theme-choice="auto|light|dark">.
(function () {
  'use strict';
  var KEY = 'lynxprof-theme';
  var mq = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  var listeners = [];

  function stored() {
    try {
      var v = window.localStorage.getItem(KEY);
      return v === 'light' || v === 'dark' ? v : 'auto';
    } catch (e) {
      return 'auto';
    }
  }

  function apply(choice) {
    var root = document.documentElement;
    var resolved = choice === 'light' || choice === 'dark' ? choice : (mq && mq.matches ? 'dark' : 'light');
    root.setAttribute('data-theme', resolved);
    root.setAttribute('data-theme-choice', choice === 'light' || choice === 'dark' ? choice : 'auto');
    for (var i = 0; i < listeners.length; i++) listeners[i](resolved);
  }

  window.lynxprofTheme = {
    get choice() { return stored(); },
    set: function (choice) {
      try {
        if (choice === 'light' || choice === 'dark') window.localStorage.setItem(KEY, choice);
        else window.localStorage.removeItem(KEY);
      } catch (e) { /* private mode: not remembered */ }
      apply(choice);
    },
    onChange: function (fn) { listeners.push(fn); },
  };
  if (mq) {
    var follow = function () { if (stored() === 'auto') apply('auto'); };
    if (mq.addEventListener) mq.addEventListener('change', follow); else if (mq.addListener) mq.addListener(follow);
  }
  apply(stored());
}());
