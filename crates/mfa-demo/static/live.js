// Live push status on the sign-in page: written on branch demo-js.
