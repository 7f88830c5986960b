.PHONY: demo test setup services-stop lint bench

demo:          ## set up everything, run a worker on a sample stream, show what it emitted
	bash deploy/local/demo.sh

test:          ## set up everything, run the whole test suite on real Kafka and Redis
	bash deploy/local/test.sh

setup:
	bash deploy/local/setup.sh

services-stop:
	bash deploy/local/services.sh stop

lint:
	.venv/bin/ruff check factors streams filings synthbank iso20022 tests bench && .venv/bin/ruff format --check factors streams filings synthbank iso20022 tests bench

bench:         ## the performance benchmark (bench/results/latest.json); BENCH_ARGS="--only busy" etc.
	bash deploy/local/setup.sh && .venv/bin/python -m bench.run $(BENCH_ARGS)
