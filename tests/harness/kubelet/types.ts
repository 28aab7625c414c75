/**
 * The parts of core/v1 Pods, Services and their volume sources the kubelet
 * stand-in reads. Only what it implements is typed; see README.md for what it
 * leaves out.
 */
import type { KubeObject } from "../../../controller/kube/mod.ts";

export interface KeySelector {
  name?: string;
  key: string;
  optional?: boolean;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: KeySelector;
    configMapKeyRef?: KeySelector;
    resourceFieldRef?: unknown;
  };
}

export interface EnvFromSource {
  prefix?: string;
  secretRef?: { name: string; optional?: boolean };
  configMapRef?: { name: string; optional?: boolean };
}

export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

export interface DownwardAPIFile {
  path: string;
  fieldRef?: { fieldPath: string };
  resourceFieldRef?: unknown;
  mode?: number;
}

export interface Probe {
  tcpSocket?: { port: number | string };
  httpGet?: { port: number | string; path?: string };
  exec?: unknown;
  initialDelaySeconds?: number;
  periodSeconds?: number;
}

export interface Container {
  name: string;
  image?: string;
  /** Where the container may write why it ended (the API server defaults it to /dev/termination-log). */
  terminationMessagePath?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  securityContext?: { runAsUser?: number; runAsGroup?: number };
}

export interface ProjectionSource {
  secret?: { name: string; items?: KeyToPath[]; optional?: boolean };
  configMap?: { name: string; items?: KeyToPath[]; optional?: boolean };
  downwardAPI?: { items?: DownwardAPIFile[] };
  serviceAccountToken?: { path: string; audience?: string; expirationSeconds?: number };
}

export interface Volume {
  name: string;
  secret?: { secretName: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  configMap?: { name: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  projected?: { sources?: ProjectionSource[]; defaultMode?: number };
  downwardAPI?: { items?: DownwardAPIFile[]; defaultMode?: number };
  emptyDir?: Record<string, unknown>;
}

export interface Pod extends KubeObject {
  spec: {
    nodeName?: string;
    hostname?: string;
    serviceAccountName?: string;
    terminationGracePeriodSeconds?: number;
    initContainers?: Container[];
    containers: Container[];
    volumes?: Volume[];
    securityContext?: { runAsUser?: number; runAsGroup?: number; fsGroup?: number };
  };
  status?: {
    phase?: string;
    hostIP?: string;
    podIP?: string;
  };
}

export interface Service extends KubeObject {
  spec: {
    type?: string;
    selector?: Record<string, string>;
    ports?: { port: number; targetPort?: number | string; nodePort?: number; protocol?: string }[];
  };
}

export interface Secret extends KubeObject {
  data?: Record<string, string>;
}

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}
