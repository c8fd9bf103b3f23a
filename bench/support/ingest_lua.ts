/**
 * The wrk script of the ingest benchmarks: every vehicle of a file (`<vehicleId> <token>` per
 * line) PUTs one segment after another to its camera `front`, recording `args[6]`.
 * Arguments: vehicles file, segment file, its Content-Digest, the first start time (epoch s),
 * wrk's thread count, the recording id. As many connections as vehicles: each wrk thread owns
 * every THREADS-th vehicle and gives each next request to the next of them, round-robin, so about
 * one upload per vehicle is in flight, and each vehicle's sequence grows 0, 1, 2, … with its start
 * time.
 */
export const INGEST_LUA = `
local nextThread = 0
function setup(thread)
  thread:set("threadIndex", nextThread)
  nextThread = nextThread + 1
end

local mine, body, digest, base, count, sent = {}, nil, nil, 0, 0, 0
function init(args)
  local threads, i = tonumber(args[5]), 0
  for line in io.lines(args[1]) do
    if i % threads == threadIndex then
      local vehicle, token = line:match("^(%S+) (%S+)$")
      mine[#mine + 1] = { path = "/api/v1/ingest/vehicles/" .. vehicle .. "/cameras/front/recordings/" .. args[6] .. "/segments/", auth = "Bearer " .. token, seq = 0 }
    end
    i = i + 1
  end
  local file = assert(io.open(args[2], "rb"))
  body = file:read("*a")
  file:close()
  digest, base, count = args[3], tonumber(args[4]), #mine
end

function request()
  local vehicle = mine[sent % count + 1]
  sent = sent + 1
  local seq = vehicle.seq
  vehicle.seq = seq + 1
  return wrk.format("PUT", vehicle.path .. seq, {
    ["Authorization"] = vehicle.auth,
    ["Content-Type"] = "video/iso.segment",
    ["Content-Digest"] = digest,
    ["Motorcade-Segment-Start"] = os.date("!%Y-%m-%dT%H:%M:%SZ", base + seq * 2),
    ["Motorcade-Segment-Duration"] = "2.000",
  }, body)
end
`;
