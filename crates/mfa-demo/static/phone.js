// The phone page (push authenticator): written on branch demo-js.
