-- wrk script: alternates POST /api/calls/initiate and GET /api/calls/{id}/status of the call the
-- previous initiate created, with a bearer token from the TOKEN environment variable.
local token = os.getenv("TOKEN")
local last_call = nil
local counter = 0

request = function()
  counter = counter + 1
  local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  if last_call ~= nil and counter % 2 == 0 then
    return wrk.format("GET", "/api/calls/" .. last_call .. "/status", headers, nil)
  end
  local body = string.format(
    '{"roomId":"!bench%d:example.org","callType":"video","invitees":["@callee:example.org"],"isGroupCall":false}', counter)
  return wrk.format("POST", "/api/calls/initiate", headers, body)
end

response = function(status, headers, body)
  if status == 201 then
    local id = string.match(body, '"callId"%s*:%s*"([^"]+)"')
    if id ~= nil then last_call = id end
  elseif status >= 400 then
    io.stderr:write("HTTP " .. status .. ": " .. string.sub(body, 1, 200) .. "\n")
  end
end
