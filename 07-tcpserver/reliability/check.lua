-- wrk script: checks every response (status 200, body "Hello World") and
-- reports how many were right and wrong. `wrk ... -s check.lua URL`
-- prints "checked: good=N bad=M" at the end.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   good = 0
   bad = 0
end

function response(status, headers, body)
   if status == 200 and body == "Hello World" then
      good = good + 1
   else
      bad = bad + 1
   end
end

function done(summary, latency, requests)
   local g, b = 0, 0
   for _, thread in ipairs(threads) do
      g = g + thread:get("good")
      b = b + thread:get("bad")
   end
   io.write(string.format("checked: good=%d bad=%d\n", g, b))
end
