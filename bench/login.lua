-- wrk script: POST the login body from the environment, the next one as soon as the answer
-- comes back (bench/harness.py login_wrk; one connection = one client logging in back to back).
wrk.method = "POST"
wrk.body = os.getenv("BENCH_LOGIN_BODY")
wrk.headers["Content-Type"] = os.getenv("BENCH_LOGIN_CONTENT_TYPE")
