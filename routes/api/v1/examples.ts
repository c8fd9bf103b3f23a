import type { OpenAPIHono, RouteConfig } from "@hono/zod-openapi";

/** The registry every route of the app is defined in. */
type Registry = OpenAPIHono["openAPIRegistry"];

/**
 * Request and response examples of every operation, by operationId: realistic values a client
 * developer can copy (bus 17 of the Acme Transit fleet, its front camera, 08:14 on 6 December).
 * {@linkcode addExamples} puts them on the routes' media types before the document is generated;
 * tests/api/openapi_test.ts checks that every operation has them and that each validates against
 * its own schema. Binary media (MP4 uploads, clips and segments) have none.
 */
const FLEET = "flt_7k2m9q4v8x1c3n5b6d0e";
const VEHICLE = "veh_3h8r2w6t9y4p1s5g7j0a";
const CAMERA = "cam_5n1x8c4v2b7m9k3q6w0z";
const USER = "usr_2d6f9h3j7k1m5n8p4q0r";
const ADMIN = "usr_8s4t1v6w3x9y2z5a7b0c";
const CREDENTIAL = "crd_6e2g8h4j0k7m3n9p5q1r";
const LINK = "lnk_4t8v2w6x0y3z7a1b5c9d";
const RECORDING = "rec-20261206-0700";
const RECALL = "rcl_9c3d7f1g5h2j8k4m6n0p";
const SERVER = "https://motorcade.example.com";
const CAMERA_PATH = `/api/v1/fleets/${FLEET}/vehicles/${VEHICLE}/cameras/${CAMERA}`;
const JWT =
  "eyJhbGciOiJFUzI1NiIsImtpZCI6ImtleV82bTJwOXE0djh4MWMzbjViN2QwZSJ9.eyJzdWIiOiJ1c3JfMmQ2ZjloM2o3azFtNW44cDRxMHIiLCJyb2xlIjoib3BlcmF0b3IifQ.MEUCIQDx3k";
const REFRESH = "mrt_Vw3Jd9QkH2sLx7Rb0nYp4TgA6cEf1ZmUoKi8WqNy5Xs";

const fleet = {
  id: FLEET,
  name: "Acme Transit",
  createdAt: "2026-11-02T09:00:00.000Z",
  retentionDays: 30,
  timeZone: "Europe/Berlin",
  segmentSeconds: 2,
  liveLadder: null,
};
const user = {
  id: USER,
  email: "dispatch@acme-transit.example",
  role: "operator",
  fleetId: FLEET,
  disabled: false,
  createdAt: "2026-11-02T09:05:00.000Z",
};
const vehicle = {
  id: VEHICLE,
  fleetId: FLEET,
  name: "bus-17",
  createdAt: "2026-11-02T09:10:00.000Z",
  online: true,
  lastSeenAt: "2026-12-06T08:13:41.000Z",
};
const camera = {
  id: CAMERA,
  vehicleId: VEHICLE,
  name: "front",
  label: null,
  createdAt: "2026-11-02T09:10:30.000Z",
};
const credential = {
  id: CREDENTIAL,
  vehicleId: VEHICLE,
  state: "active",
  enrolmentExpiresAt: "2026-11-09T09:10:00.000Z",
  enrolledAt: "2026-11-02T10:02:11.000Z",
  revokedAt: null,
  createdAt: "2026-11-02T09:10:00.000Z",
};
const pendingCredential = {
  ...credential,
  id: "crd_9a3c7e1g5h8j2k6m0n4p",
  state: "awaiting-enrolment",
  enrolmentExpiresAt: "2026-12-13T08:20:00.000Z",
  enrolledAt: null,
  createdAt: "2026-12-06T08:20:00.000Z",
};
const enrolmentCode = "MCE-7KQ2M-X9PRT-4WHN8-C3VZD";
const enrolment = {
  credential: pendingCredential,
  code: enrolmentCode,
  command:
    `deno task vehicle enrol --server ${SERVER} --code ${enrolmentCode} --state /var/lib/motorcade`,
};
const link = {
  id: LINK,
  kind: "playback",
  vehicleId: VEHICLE,
  cameraId: CAMERA,
  createdBy: USER,
  createdAt: "2026-12-06T09:02:00.000Z",
  expiresAt: "2026-12-06T15:02:00.000Z",
  from: "2026-12-06T08:14:00.000Z",
  to: "2026-12-06T08:16:00.000Z",
  revokedAt: null,
};
const stored = {
  status: "stored",
  size: 1_204_331,
  sha256: "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
};
const heartbeat = {
  sentAt: "2026-12-06T08:13:41.000Z",
  uptimeS: 11_820,
  clock: { state: "ok", lastJumpAt: null, jumps: 0, aheadMs: 12 },
  cameras: [{
    camera: "front",
    recordingId: RECORDING,
    capturing: true,
    queueDepth: 3,
    bytesPending: 2_400_000,
    lastUploadAt: "2026-12-06T08:13:40.000Z",
    evictedSegments: 0,
    evictedBytes: 0,
    quarantined: 0,
  }],
};
const heartbeatWithHoldings = {
  ...heartbeat,
  instructionsVersion: "5d41402abc4b2a76b9719d91",
  inventory: [{
    camera: "front",
    rendition: "full",
    ranges: [[1_765_000_800_000, 1_765_008_821_000]],
  }],
  recalls: [{
    id: RECALL,
    state: "uploading",
    segmentsTotal: 30,
    segmentsDone: 12,
    bytesTotal: 36_000_000,
    bytesDone: 14_400_000,
    missing: [],
  }],
};
const proxy = { height: 320, bitrateKbps: 150 };
const instructions = {
  version: "5d41402abc4b2a76b9719d91",
  segmentSeconds: null,
  cameras: [{ camera: "front", mode: "proxy", proxy }],
  defaultPolicy: { mode: "proxy", proxy },
  recalls: [{
    id: RECALL,
    camera: "front",
    from: "2026-12-06T08:00:00.000Z",
    to: "2026-12-06T08:01:00.000Z",
  }],
};
const policy = {
  mode: "proxy",
  proxy,
  source: "vehicle",
  own: { mode: "proxy", proxy, updatedAt: "2026-12-06T09:30:00.000Z" },
};
const fleetPolicy = {
  mode: "continuous",
  proxy,
  source: "fleet",
  own: { mode: "continuous", proxy, updatedAt: "2026-12-06T09:30:00.000Z" },
  recallMaxSeconds: 3600,
};
const recall = {
  id: RECALL,
  fleetId: FLEET,
  vehicleId: VEHICLE,
  cameraId: CAMERA,
  from: "2026-12-06T08:00:00.000Z",
  to: "2026-12-06T08:01:00.000Z",
  origin: "operator",
  createdBy: USER,
  state: "partial",
  progress: {
    segmentsTotal: 28,
    segmentsDone: 28,
    bytesTotal: 33_600_000,
    bytesDone: 33_600_000,
    missing: [{
      from: "2026-12-06T08:00:00.000Z",
      to: "2026-12-06T08:00:04.000Z",
      reason: "evicted",
    }],
  },
  createdAt: "2026-12-06T09:40:00.000Z",
  updatedAt: "2026-12-06T09:42:10.000Z",
  finishedAt: "2026-12-06T09:42:10.000Z",
};
const sdpOffer = [
  "v=0",
  "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0",
  "m=video 9 UDP/TLS/RTP/SAVPF 102",
  "c=IN IP4 0.0.0.0",
  "a=ice-ufrag:EsAw",
  "a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y",
  "a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F",
  "a=setup:actpass",
  "a=mid:0",
  "a=recvonly",
  "a=rtpmap:102 H264/90000",
  "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  "",
].join("\r\n");
const sdpAnswer = sdpOffer.replace("a=setup:actpass", "a=setup:active")
  .replace("a=recvonly", "a=sendonly");
const mediaPlaylist = [
  "#EXTM3U",
  "#EXT-X-VERSION:7",
  "#EXT-X-TARGETDURATION:2",
  "#EXT-X-PLAYLIST-TYPE:VOD",
  `#EXT-X-MAP:URI="/media/fleets/${FLEET}/vehicles/${VEHICLE}/cameras/${CAMERA}/${RECORDING}/init.mp4"`,
  "#EXT-X-PROGRAM-DATE-TIME:2026-12-06T08:14:00.000Z",
  "#EXTINF:2.000,",
  `/media/fleets/${FLEET}/vehicles/${VEHICLE}/cameras/${CAMERA}/${RECORDING}/000000420.m4s`,
  "#EXTINF:2.000,",
  `/media/fleets/${FLEET}/vehicles/${VEHICLE}/cameras/${CAMERA}/${RECORDING}/000000421.m4s`,
  "#EXT-X-ENDLIST",
  "",
].join("\n");
const multivariantPlaylist = [
  "#EXTM3U",
  "#EXT-X-VERSION:6",
  "#EXT-X-INDEPENDENT-SEGMENTS",
  '#EXT-X-STREAM-INF:BANDWIDTH=182400,AVERAGE-BANDWIDTH=151200,CODECS="avc1.64000d",RESOLUTION=320x180',
  "renditions/proxy/index.m3u8?from=2026-12-06T08%3A14%3A00.000Z&to=2026-12-06T08%3A16%3A00.000Z",
  '#EXT-X-STREAM-INF:BANDWIDTH=2496000,AVERAGE-BANDWIDTH=2016000,CODECS="avc1.64001f",RESOLUTION=1280x720',
  "renditions/full/index.m3u8?from=2026-12-06T08%3A14%3A00.000Z&to=2026-12-06T08%3A16%3A00.000Z",
  "",
].join("\n");
const fullVariantPlaylist = [
  "#EXTM3U",
  "#EXT-X-VERSION:6",
  "#EXT-X-TARGETDURATION:2",
  "#EXT-X-PLAYLIST-TYPE:VOD",
  `#EXT-X-MAP:URI="/media/fleets/${FLEET}/vehicles/${VEHICLE}/cameras/${CAMERA}/${RECORDING}/init.mp4"`,
  "#EXTINF:2.000,",
  "#EXT-X-GAP",
  `/media/fleets/${FLEET}/vehicles/${VEHICLE}/cameras/${CAMERA}/gap/0000000000.m4s`,
  "#EXT-X-PROGRAM-DATE-TIME:2026-12-06T08:14:02.000Z",
  "#EXTINF:2.000,",
  `/media/fleets/${FLEET}/vehicles/${VEHICLE}/cameras/${CAMERA}/${RECORDING}/000000421.m4s`,
  "#EXT-X-ENDLIST",
  "",
].join("\n");
const mpd = `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT4S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <Period id="0" start="PT0S">
    <AdaptationSet mimeType="video/mp4" codecs="avc1.42e01f">
      <Representation id="front" bandwidth="2000000" width="1280" height="720">
        <SegmentList timescale="1000" duration="2000">
          <Initialization sourceURL="/media/fleets/${FLEET}/vehicles/${VEHICLE}/cameras/${CAMERA}/${RECORDING}/init.mp4"/>
          <SegmentURL media="/media/fleets/${FLEET}/vehicles/${VEHICLE}/cameras/${CAMERA}/${RECORDING}/000000420.m4s"/>
          <SegmentURL media="/media/fleets/${FLEET}/vehicles/${VEHICLE}/cameras/${CAMERA}/${RECORDING}/000000421.m4s"/>
        </SegmentList>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
`;
const segmentUrl = (recording: string, file: string) =>
  `/media/fleets/${FLEET}/vehicles/${VEHICLE}/cameras/${CAMERA}/${recording}/${file}`;
const renditionsMpd = `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" mediaPresentationDuration="PT4S" maxSegmentDuration="PT2S" minBufferTime="PT2S">
  <Period id="proxy-1765008840000" start="PT0S" duration="PT2S">
    <AdaptationSet contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="proxy" bandwidth="182400" codecs="avc1.64000d" width="320" height="180">
        <SegmentList timescale="1000" presentationTimeOffset="0">
          <Initialization sourceURL="${segmentUrl(`${RECORDING}-p`, "init.mp4")}"/>
          <SegmentTimeline>
            <S t="0" d="2000"/>
          </SegmentTimeline>
          <SegmentURL media="${segmentUrl(`${RECORDING}-p`, "420.m4s")}?t=0"/>
        </SegmentList>
      </Representation>
    </AdaptationSet>
  </Period>
  <Period id="proxy+full-1765008842000" start="PT2S" duration="PT2S">
    <AdaptationSet contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="proxy" bandwidth="182400" codecs="avc1.64000d" width="320" height="180">
        <SegmentList timescale="1000" presentationTimeOffset="0">
          <Initialization sourceURL="${segmentUrl(`${RECORDING}-p`, "init.mp4")}"/>
          <SegmentTimeline>
            <S t="0" d="2000"/>
          </SegmentTimeline>
          <SegmentURL media="${segmentUrl(`${RECORDING}-p`, "421.m4s")}?t=0"/>
        </SegmentList>
      </Representation>
      <Representation id="full" bandwidth="2496000" codecs="avc1.64001f" width="1280" height="720">
        <SegmentList timescale="1000" presentationTimeOffset="0">
          <Initialization sourceURL="${segmentUrl(RECORDING, "init.mp4")}"/>
          <SegmentTimeline>
            <S t="0" d="2000"/>
          </SegmentTimeline>
          <SegmentURL media="${segmentUrl(RECORDING, "421.m4s")}?t=0"/>
        </SegmentList>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
`;
const signed = (file: string) =>
  `${SERVER}${CAMERA_PATH}/${file}?from=2026-12-06T08%3A14%3A00.000Z&to=2026-12-06T08%3A16%3A00.000Z&exp=1765047600&kid=u1&link=${LINK}&sig=2vYcQ8m0k1b6Zr4HfT9nWx`;

/** Examples of one operation: its request body and its answers by status. */
interface OperationExamples {
  request?: unknown;
  responses?: Record<string, unknown>;
}

const EVENT = "evt_1b5c9d3f7g2h6j0k4m8n";
const vehicleEvent = {
  id: EVENT,
  fleetId: FLEET,
  vehicleId: VEHICLE,
  kind: "panic",
  at: "2026-12-06T08:14:05.000Z",
  metadata: { button: "driver", speedKmh: 38 },
  source: "vehicle",
  clientId: "e-1765008845000-1",
  createdBy: null,
  createdAt: "2026-12-06T08:14:06.000Z",
  recalls: [{ cameraId: CAMERA, recallId: RECALL }],
};
const eventRules = {
  rules: [
    { kind: "panic", preSeconds: 30, postSeconds: 60, cameras: "all" },
    { kind: "harsh-brake", preSeconds: 10, postSeconds: 10, cameras: ["front"] },
  ],
};

/** Every operation's examples, by operationId. */
export const EXAMPLES: Record<string, OperationExamples> = {
  getHealthz: { responses: { 200: { status: "ok" } } },
  getReadyz: {
    responses: {
      200: {
        status: "ready",
        checks: { catalog: { ok: true }, "object-store": { ok: true }, storage: { ok: true } },
      },
    },
  },
  listMetrics: {
    responses: {
      200: [
        "# HELP motorcade_http_requests_total HTTP requests by method, route and status",
        "# TYPE motorcade_http_requests_total counter",
        'motorcade_http_requests_total{method="GET",route="/api/v1/fleets/:fleetId/vehicles",status="200"} 1042',
        "",
      ].join("\n"),
    },
  },
  getWellKnownJwkJson: {
    responses: {
      200: {
        keys: [{
          kty: "EC",
          crv: "P-256",
          x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
          y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
          kid: "key_6m2p9q4v8x1c3n5b7d0e",
          alg: "ES256",
          use: "sig",
        }],
      },
    },
  },
  authLogin: {
    request: { email: "dispatch@acme-transit.example", password: "amber-tram-depot-7" },
    responses: {
      200: {
        tokenType: "Bearer",
        accessToken: JWT,
        expiresIn: 300,
        refreshToken: REFRESH,
        refreshTokenExpiresAt: "2027-01-05T08:10:00.000Z",
      },
    },
  },
  authRefresh: {
    request: { refreshToken: REFRESH },
    responses: {
      200: {
        tokenType: "Bearer",
        accessToken: JWT,
        expiresIn: 300,
        refreshToken: "mrt_Hq8Zt2Lc5Vn0Ws7Kd3Jy9Xb4Rf6Pg1Am8Ue2To5Qi0",
        refreshTokenExpiresAt: "2027-01-05T08:15:00.000Z",
      },
    },
  },
  authLogout: { request: { refreshToken: REFRESH } },
  resetPassword: {
    request: {
      code: "mpr_J7fK2qLm9Xw4Rt8Zc1Vb6Nh3Yp0Sd5Ga7Ue2Ko9Wi4Q",
      password: "amber-tram-depot-7",
    },
  },
  getMe: { responses: { 200: user } },
  listFleets: { responses: { 200: { fleets: [fleet] } } },
  createFleet: {
    request: { name: "Acme Transit" },
    responses: { 201: { ...fleet, retentionDays: null, timeZone: "UTC", segmentSeconds: null } },
  },
  getFleet: { responses: { 200: fleet } },
  updateFleet: {
    request: { retentionDays: 30, timeZone: "Europe/Berlin", segmentSeconds: 2 },
    responses: { 200: fleet },
  },
  getFleetRetention: {
    responses: {
      200: {
        retentionDays: 30,
        cutoff: "2026-11-06T08:14:00.000Z",
        expired: { segments: 129_600, bytes: 155_520_000_000, recordings: 94 },
      },
    },
  },
  listFleetUsers: {
    responses: {
      200: {
        users: [
          { ...user, id: ADMIN, email: "ops-lead@acme-transit.example", role: "admin" },
          user,
        ],
      },
    },
  },
  createFleetUser: {
    request: {
      email: "dispatch@acme-transit.example",
      role: "operator",
      password: "amber-tram-depot-7",
    },
    responses: { 201: user },
  },
  getFleetUser: { responses: { 200: user } },
  updateFleetUser: { request: { role: "viewer" }, responses: { 200: { ...user, role: "viewer" } } },
  issuePasswordReset: {
    responses: {
      201: {
        userId: USER,
        code: "mpr_J7fK2qLm9Xw4Rt8Zc1Vb6Nh3Yp0Sd5Ga7Ue2Ko9Wi4Q",
        expiresAt: "2026-12-07T08:20:00.000Z",
      },
    },
  },
  listFleetVehicles: {
    responses: {
      200: {
        vehicles: [vehicle, {
          ...vehicle,
          id: "veh_9c4e8g2j6k0m3p7r1t5v",
          name: "bus-18",
          online: false,
          lastSeenAt: "2026-12-05T22:41:09.000Z",
        }],
      },
    },
  },
  createFleetVehicle: {
    request: { name: "bus-17" },
    responses: {
      201: {
        vehicle: { ...vehicle, online: false, lastSeenAt: null },
        enrolment: { ...enrolment, credential: { ...pendingCredential, vehicleId: VEHICLE } },
      },
    },
  },
  getFleetVehicle: {
    responses: {
      200: {
        ...vehicle,
        enrolment: {
          state: "enrolled",
          enrolledAt: "2026-11-02T10:02:11.000Z",
          pendingUntil: null,
        },
      },
    },
  },
  updateFleetVehicle: {
    request: { name: "bus-17 depot-north" },
    responses: { 200: { ...vehicle, name: "bus-17 depot-north" } },
  },
  listFleetVehicleStatus: {
    responses: { 200: { reportedAt: "2026-12-06T08:13:41.000Z", heartbeat } },
  },
  listFleetVehicleCredentials: { responses: { 200: { credentials: [credential] } } },
  createFleetVehicleCredential: { responses: { 201: enrolment } },
  deleteFleetVehicleCredential: {
    responses: { 200: { ...credential, state: "revoked", revokedAt: "2026-12-06T09:30:00.000Z" } },
  },
  listFleetVehicleCameras: {
    responses: {
      200: {
        cameras: [camera, { ...camera, id: "cam_1p5r9t3v7x0z4b8d2f6h", name: "cabin" }],
      },
    },
  },
  createFleetVehicleCamera: { request: { name: "front" }, responses: { 201: camera } },
  updateFleetVehicleCamera: {
    request: { label: "Windscreen" },
    responses: { 200: { ...camera, label: "Windscreen" } },
  },
  deviceEnrol: {
    request: {
      code: enrolmentCode,
      publicKey: {
        kty: "EC",
        crv: "P-256",
        x: "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
        y: "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
      },
    },
    responses: {
      201: {
        credentialId: CREDENTIAL,
        vehicleId: VEHICLE,
        fleetId: FLEET,
        tokenEndpoint: `${SERVER}/api/v1/device/token`,
        assertionAudience: `${SERVER}/api/v1/device/token`,
      },
    },
  },
  deviceToken: {
    request: {
      assertion:
        "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJjcmRfNmUyZzhoNGowazdtM245cDVxMXIiLCJqdGkiOiI0YjFmIn0.MEQCIB8",
    },
    responses: {
      200: {
        tokenType: "Bearer",
        accessToken: JWT,
        expiresIn: 600,
        vehicleId: VEHICLE,
        fleetId: FLEET,
      },
    },
  },
  getDeviceVehicle: { responses: { 200: { vehicle, cameras: [camera] } } },
  deviceHeartbeat: { request: heartbeatWithHoldings, responses: { 200: instructions } },
  getDeviceInstructions: { responses: { 200: instructions } },
  getFleetUploadPolicy: { responses: { 200: fleetPolicy } },
  replaceFleetUploadPolicy: {
    request: { mode: "continuous", recallMaxSeconds: 3600 },
    responses: { 200: fleetPolicy },
  },
  getFleetVehicleUploadPolicy: { responses: { 200: policy } },
  replaceFleetVehicleUploadPolicy: {
    request: { mode: "proxy", proxy },
    responses: { 200: policy },
  },
  deleteFleetVehicleUploadPolicy: {
    responses: { 200: { mode: "continuous", proxy, source: "fleet", own: null } },
  },
  getFleetVehicleCameraUploadPolicy: { responses: { 200: policy } },
  replaceFleetVehicleCameraUploadPolicy: {
    request: { mode: "on-request" },
    responses: { 200: { ...policy, mode: "on-request", source: "camera" } },
  },
  deleteFleetVehicleCameraUploadPolicy: {
    responses: { 200: { ...policy, own: null } },
  },
  createFleetVehicleCameraRecall: {
    request: { from: "2026-12-06T08:00:00.000Z", to: "2026-12-06T08:01:00.000Z" },
    responses: {
      201: {
        ...recall,
        state: "queued",
        progress: null,
        updatedAt: recall.createdAt,
        finishedAt: null,
      },
    },
  },
  listFleetVehicleCameraRecalls: { responses: { 200: { recalls: [recall] } } },
  getFleetRecall: { responses: { 200: recall } },
  deleteFleetRecall: {
    responses: {
      200: {
        ...recall,
        state: "cancelled",
        progress: null,
        updatedAt: "2026-12-06T09:41:00.000Z",
        finishedAt: "2026-12-06T09:41:00.000Z",
      },
    },
  },
  createDeviceEvent: {
    request: {
      id: "e-1765008845000-1",
      kind: "panic",
      at: "2026-12-06T08:14:05.000Z",
      metadata: { button: "driver", speedKmh: 38 },
    },
    responses: { 201: vehicleEvent, 200: vehicleEvent },
  },
  createFleetVehicleEvent: {
    request: { kind: "inspection", metadata: { note: "Door 2 reported stuck" } },
    responses: {
      201: {
        ...vehicleEvent,
        kind: "inspection",
        metadata: { note: "Door 2 reported stuck" },
        source: "operator",
        clientId: null,
        createdBy: USER,
        recalls: [],
      },
      200: { ...vehicleEvent, source: "operator", createdBy: USER },
    },
  },
  listFleetVehicleEvents: { responses: { 200: { events: [vehicleEvent] } } },
  listFleetEventRules: { responses: { 200: eventRules } },
  replaceFleetEventRules: { request: eventRules, responses: { 200: eventRules } },
  getFleetWebhook: {
    responses: {
      200: {
        url: "https://ops.acme-transit.example/motorcade",
        secret: null,
        updatedAt: "2026-12-01T10:00:00.000Z",
      },
    },
  },
  replaceFleetWebhook: {
    request: { url: "https://ops.acme-transit.example/motorcade" },
    responses: {
      200: {
        url: "https://ops.acme-transit.example/motorcade",
        secret: "whsec_5f0c3a9e1b7d4f2a8c6e0b3d9f1a7c5e2b8d4f0a6c3e9b1d7f5a2c8e4b0d6f3a",
        updatedAt: "2026-12-01T10:00:00.000Z",
      },
    },
  },
  getFleetVehicleCameraAvailability: {
    responses: {
      200: {
        from: "2026-12-06T08:00:00.000Z",
        to: "2026-12-06T09:00:00.000Z",
        renditions: [
          {
            rendition: "full",
            spans: [
              { from: "2026-12-06T08:00:00.000Z", to: "2026-12-06T08:01:00.000Z", where: "server" },
              {
                from: "2026-12-06T08:01:00.000Z",
                to: "2026-12-06T09:00:00.000Z",
                where: "vehicle",
              },
            ],
          },
          {
            rendition: "proxy",
            spans: [
              { from: "2026-12-06T08:00:00.000Z", to: "2026-12-06T09:00:00.000Z", where: "server" },
            ],
          },
        ],
        inventoryReportedAt: "2026-12-06T09:00:05.000Z",
      },
    },
  },
  replaceIngestVehicleCameraRecordingInit: {
    responses: { 200: { ...stored, status: "duplicate" }, 201: stored },
  },
  replaceIngestVehicleCameraRecordingSegment: {
    responses: { 200: { ...stored, status: "duplicate" }, 201: stored },
  },
  ingestVehicleCameraRecordingEnd: { request: { endedAt: "2026-12-06T08:59:58.000Z" } },
  listFleetVehicleCameraRecordings: {
    responses: {
      200: {
        recordings: [{
          id: RECORDING,
          cameraId: CAMERA,
          startedAt: "2026-12-06T07:00:02.000Z",
          endedAt: "2026-12-06T08:59:58.000Z",
          segmentCount: 3598,
          rendition: "full",
          closedAt: "2026-12-06T09:00:01.000Z",
        }],
      },
    },
  },
  getFleetVehicleUsage: {
    responses: {
      200: {
        vehicleId: VEHICLE,
        from: "2026-12-05",
        to: "2026-12-06",
        days: [
          {
            day: "2026-12-05",
            cameraId: CAMERA,
            kind: "proxy",
            bytes: 1_612_800_000,
            objects: 43_201,
          },
          {
            day: "2026-12-06",
            cameraId: CAMERA,
            kind: "proxy",
            bytes: 604_800_000,
            objects: 16_201,
          },
          { day: "2026-12-06", cameraId: CAMERA, kind: "recall", bytes: 90_000_000, objects: 61 },
        ],
        cameras: [{
          cameraId: CAMERA,
          bytes: {
            continuous: 0,
            proxy: 2_217_600_000,
            recall: 90_000_000,
            event: 0,
            live: 0,
            all: 2_307_600_000,
          },
        }],
        bytes: {
          continuous: 0,
          proxy: 2_217_600_000,
          recall: 90_000_000,
          event: 0,
          live: 0,
          all: 2_307_600_000,
        },
      },
    },
  },
  listFleetLinks: { responses: { 200: { links: [link] } } },
  deleteFleetLinks: { responses: { 200: { revoked: [LINK] } } },
  deleteFleetLink: { responses: { 200: { ...link, revokedAt: "2026-12-06T09:40:00.000Z" } } },
  getFleetVehicleCameraRecordingIndexM3u8: { responses: { 200: mediaPlaylist } },
  getFleetVehicleCameraIndexM3u8: { responses: { 200: mediaPlaylist } },
  getFleetVehicleCameraRecordingManifestMpd: { responses: { 200: mpd } },
  getFleetVehicleCameraManifestMpd: { responses: { 200: mpd } },
  getFleetVehicleCameraMultivariantM3u8: { responses: { 200: multivariantPlaylist } },
  getFleetVehicleCameraMultivariantMpd: { responses: { 200: renditionsMpd } },
  getFleetVehicleCameraRenditionIndexM3u8: { responses: { 200: fullVariantPlaylist } },
  createFleetVehicleCameraLink: {
    request: {
      from: "2026-12-06T08:14:00.000Z",
      to: "2026-12-06T08:16:00.000Z",
      ttlSeconds: 21_600,
    },
    responses: {
      201: {
        id: LINK,
        hls: signed("index.m3u8"),
        dash: signed("manifest.mpd"),
        multivariant: signed("multivariant.m3u8"),
        multivariantDash: signed("multivariant.mpd"),
        clip: signed("clip.mp4"),
        expiresAt: "2026-12-06T15:02:00.000Z",
      },
    },
  },
  fleetVehicleCameraWhep: { request: sdpOffer, responses: { 201: sdpAnswer } },
  fleetVehicleCameraWhip: {
    request: sdpOffer.replace("a=recvonly", "a=sendonly"),
    responses: { 201: sdpAnswer.replace("a=sendonly", "a=recvonly") },
  },
  updateLiveWhep: {
    request: [
      "a=ice-ufrag:EsAw",
      "a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y",
      "m=video 9 UDP/TLS/RTP/SAVPF 102",
      "a=mid:0",
      "a=candidate:1387637174 1 udp 2122260223 192.0.2.10 61764 typ host generation 0",
      "",
    ].join("\r\n"),
  },
  createFleetVehicleCameraLiveLink: {
    request: { ttlSeconds: 3600 },
    responses: {
      201: {
        id: "lnk_8b2d6f0h4j9k3m7n1p5q",
        whepUrl: `${SERVER}${CAMERA_PATH}/whep`,
        token: "mcs.1765012440.u1.lnk_8b2d6f0h4j9k3m7n1p5q.Zr4HfT9nWx2vYcQ8m0k1b6",
        expiresAt: "2026-12-06T10:14:00.000Z",
      },
    },
  },
};

/**
 * Puts each operation's examples on its route's media types (request body and answers), copying
 * the objects it changes, since routes share response definitions.
 */
export function addExamples(registry: Registry): void {
  for (const definition of registry.definitions) {
    if (definition.type !== "route") continue;
    const route = definition.route as RouteConfig;
    const examples = route.operationId ? EXAMPLES[route.operationId] : undefined;
    if (!examples) continue;
    const body = route.request?.body;
    if (examples.request !== undefined && body?.content) {
      route.request = {
        ...route.request,
        body: { ...body, content: withExample(body.content, examples.request) },
      };
    }
    for (const [status, example] of Object.entries(examples.responses ?? {})) {
      const response = route.responses[status];
      if (!response || !("content" in response) || !response.content) continue;
      route.responses = {
        ...route.responses,
        [status]: { ...response, content: withExample(response.content, example) },
      };
    }
  }
}

/** A copy of `content` whose first media type carries `example`. */
function withExample<T extends object>(content: T, example: unknown): T {
  const [[type, media]] = Object.entries(content);
  return { ...content, [type]: { ...media, example } };
}
