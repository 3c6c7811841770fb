module meterline/bench/ingestdriver

go 1.26
