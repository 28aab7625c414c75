/**
 * CloudTTY v0.5's Job template (config/manager/Job_template.yaml, ConfigMap key job-temp.yaml), as users
 * have it in their clusters: test data for the renderer and for the end-to-end template tests.
 */

// CloudTTY v0.5's config/manager/Job_template.yaml payload (key job-temp.yaml), with the URLARG handling of
// its Helm chart. The kustomize copy kept Helm's escaping of {{ .Secret }}, so users have both forms.
export const UPSTREAM_V05_TEMPLATE = `apiVersion: batch/v1
kind: Job
metadata:
  namespace: {{ .Namespace }}
  name: {{ .Name }}
spec:
  activeDeadlineSeconds: 3600
  ttlSecondsAfterFinished: 60
  parallelism: 1
  completions: 1
  template:
    spec:
      automountServiceAccountToken: false
      containers:
      - name:  web-tty
        image: ghcr.io/cloudtty/cloudshell:latest
        imagePullPolicy: IfNotPresent
        ports:
        - containerPort: 7681
          name: tty-ui
          protocol: TCP
        command:
          - bash
          - "-c"
          - |
            once=""
            index=""
            urlarg=""
            if [ "\${ONCE}" == "true" ];then once=" --once "; fi;
            if [ -f /usr/lib/ttyd/index.html ]; then index=" --index /usr/lib/ttyd/index.html ";fi
            if [ "\${URLARG}" == "true" ];then urlarg=" -a "; fi
            if [ -z "\${TTL}" ] || [ "\${TTL}" == "0" ];then
                ttyd \${index} \${once} \${urlarg} sh -c "\${COMMAND}"
            else
                timeout \${TTL} ttyd \${index} \${once} \${urlarg} sh -c "\${COMMAND}" || echo "exiting"
            fi
        env:
        - name: KUBECONFIG
          value: /usr/local/kubeconfig/config
        - name: ONCE
          value: "{{ .Once }}"
        - name: TTL
          value: "{{ .Ttl }}"
        - name: COMMAND
          value: {{ .Command }}
        - name: URLARG
          value: "{{ .UrlArg }}"
        volumeMounts:
          - mountPath: /usr/local/kubeconfig/
            name: kubeconfig
        readinessProbe:
          tcpSocket:
            port: 7681
          periodSeconds: 1
          failureThreshold: 15
        livenessProbe:
          tcpSocket:
            port: 7681
          periodSeconds: 20
      restartPolicy: Never
      volumes:
      - secret:
          defaultMode: 420
          secretName: {{\`{{ .Secret }}\`}}
        name: kubeconfig
`;
