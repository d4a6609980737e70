package helm_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/warroom/warroom/bot/config"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// helmCmd is helm, built from the Go module proxy: pinned, and cached in the
// Go build cache after the first build (minutes).
const helmCmd = "helm.sh/helm/v4/cmd/helm@v4.3.2"

const (
	chart         = "warroom"
	sqliteValues  = "warroom/ci/sqlite-values.yaml"
	postgresValue = "warroom/ci/postgres-values.yaml"
	secretsDir    = "/etc/warroom/secrets"
	configPath    = "/etc/warroom/config/warroom.yaml"
)

// helm runs helm with its homes in a temporary directory, so that the
// machine's repositories and plugins play no part.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command("go", append([]string{"run", helmCmd}, args...)...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// object is one rendered Kubernetes object, decoded strictly into its API
// type.
type object struct {
	kind, name string
	obj        any
}

// kinds are the objects the chart may render, with their API version and
// type: anything else fails the test.
var kinds = map[string]struct {
	apiVersion string
	new        func() any
}{
	"ConfigMap":           {"v1", func() any { return &corev1.ConfigMap{} }},
	"Secret":              {"v1", func() any { return &corev1.Secret{} }},
	"Service":             {"v1", func() any { return &corev1.Service{} }},
	"ServiceAccount":      {"v1", func() any { return &corev1.ServiceAccount{} }},
	"StatefulSet":         {"apps/v1", func() any { return &appsv1.StatefulSet{} }},
	"Deployment":          {"apps/v1", func() any { return &appsv1.Deployment{} }},
	"PodDisruptionBudget": {"policy/v1", func() any { return &policyv1.PodDisruptionBudget{} }},
	"Ingress":             {"networking.k8s.io/v1", func() any { return &networkingv1.Ingress{} }},
	"NetworkPolicy":       {"networking.k8s.io/v1", func() any { return &networkingv1.NetworkPolicy{} }},
	"ServiceMonitor":      {"monitoring.coreos.com/v1", func() any { return &monitoringv1.ServiceMonitor{} }},
	"PrometheusRule":      {"monitoring.coreos.com/v1", func() any { return &monitoringv1.PrometheusRule{} }},
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decode splits helm's output into its documents and decodes each strictly:
// a misspelt or misplaced field, a duplicate key or a value of the wrong
// type is an error.
func decode(out string) ([]object, error) {
	var objs []object
	for _, doc := range docSeparator.Split(out, -1) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			return nil, fmt.Errorf("document %q: %w", doc, err)
		}
		if tm.Kind == "" && tm.APIVersion == "" {
			continue // comments only
		}
		k, ok := kinds[tm.Kind]
		if !ok {
			return nil, fmt.Errorf("unexpected kind %q:\n%s", tm.Kind, doc)
		}
		if tm.APIVersion != k.apiVersion {
			return nil, fmt.Errorf("%s has apiVersion %q, want %q", tm.Kind, tm.APIVersion, k.apiVersion)
		}
		obj := k.new()
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			return nil, fmt.Errorf("%s: %w\n%s", tm.Kind, err, doc)
		}
		objs = append(objs, object{kind: tm.Kind, name: obj.(metav1.Object).GetName(), obj: obj})
	}
	return objs, nil
}

// rendered is the chart rendered with some values.
type rendered struct {
	t    *testing.T
	objs []object
}

// render runs helm template with the values files and --set flags, and
// decodes what it renders.
func render(t *testing.T, valuesFile string, sets ...string) rendered {
	t.Helper()
	out, err := template(t, valuesFile, sets...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decode(out)
	if err != nil {
		t.Fatal(err)
	}
	return rendered{t: t, objs: objs}
}

func template(t *testing.T, valuesFile string, sets ...string) (string, error) {
	t.Helper()
	args := []string{"template", "r", chart, "--namespace", "ops"}
	if valuesFile != "" {
		args = append(args, "-f", valuesFile)
	}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return helm(t, args...)
}

// all returns the objects of a kind.
func (r rendered) all(kind string) []any {
	var out []any
	for _, o := range r.objs {
		if o.kind == kind {
			out = append(out, o.obj)
		}
	}
	return out
}

// one returns the one object of a kind, failing the test if there is not
// exactly one.
func one[T any](r rendered, kind string) *T {
	r.t.Helper()
	all := r.all(kind)
	if len(all) != 1 {
		r.t.Fatalf("%d objects of kind %s, want 1", len(all), kind)
	}
	return all[0].(*T)
}

func (r rendered) count(kind string) int { return len(r.all(kind)) }

// pod is the pod template of the StatefulSet or the Deployment.
func (r rendered) pod() *corev1.PodTemplateSpec {
	r.t.Helper()
	switch {
	case r.count("StatefulSet") == 1 && r.count("Deployment") == 0:
		return &one[appsv1.StatefulSet](r, "StatefulSet").Spec.Template
	case r.count("Deployment") == 1 && r.count("StatefulSet") == 0:
		return &one[appsv1.Deployment](r, "Deployment").Spec.Template
	}
	r.t.Fatalf("%d StatefulSets and %d Deployments, want one of them", r.count("StatefulSet"), r.count("Deployment"))
	return nil
}

func (r rendered) container(name string) *corev1.Container {
	r.t.Helper()
	spec := r.pod().Spec
	for _, cs := range [][]corev1.Container{spec.Containers, spec.InitContainers} {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i]
			}
		}
	}
	r.t.Fatalf("no container %q", name)
	return nil
}

// configFile is the warroom.yaml of the ConfigMap.
func (r rendered) configFile() string {
	r.t.Helper()
	cm := one[corev1.ConfigMap](r, "ConfigMap")
	data, ok := cm.Data["warroom.yaml"]
	if !ok {
		r.t.Fatalf("ConfigMap %s has no warroom.yaml: %v", cm.Name, cm.Data)
	}
	return data
}

// config is warroom.yaml read by warroom's own parser: strict, validated.
func (r rendered) config() *config.Config {
	r.t.Helper()
	c, err := config.Parse([]byte(r.configFile()), "warroom.yaml")
	if err != nil {
		r.t.Fatalf("warroom refuses the rendered config: %v\n%s", err, r.configFile())
	}
	return c
}

func env(c *corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func mountPath(c *corev1.Container, volume string) string {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m.MountPath
		}
	}
	return ""
}

func TestLint(t *testing.T) {
	for _, values := range []string{sqliteValues, postgresValue} {
		t.Run(filepath.Base(values), func(t *testing.T) {
			if _, err := helm(t, "lint", "--strict", chart, "-f", values); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDecodeIsStrict shows that the decoding the other tests rely on fails
// on a misspelt field, a misplaced one and a kind it does not know.
func TestDecodeIsStrict(t *testing.T) {
	good := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: w\nspec:\n  replicas: 2\n"
	if objs, err := decode("---\n# Source: x\n---\n" + good); err != nil || len(objs) != 1 {
		t.Fatalf("decode(good) = %d objects, %v; want 1, nil", len(objs), err)
	}
	for name, doc := range map[string]string{
		"misspelt field":   strings.Replace(good, "replicas", "replica", 1),
		"misplaced field":  good + "  containers: []\n",
		"wrong type":       strings.Replace(good, "replicas: 2", "replicas: two", 1),
		"duplicate key":    good + "  replicas: 3\n",
		"unknown kind":     strings.Replace(good, "Deployment", "Deployments", 1),
		"wrong apiVersion": strings.Replace(good, "apps/v1", "apps/v1beta1", 1),
	} {
		if _, err := decode(doc); err == nil {
			t.Errorf("%s: decoded without an error:\n%s", name, doc)
		}
	}
}

func TestSQLiteMode(t *testing.T) {
	r := render(t, sqliteValues)

	for kind, want := range map[string]int{"StatefulSet": 1, "Deployment": 0, "PodDisruptionBudget": 0, "Service": 2, "Secret": 1, "ConfigMap": 1, "Ingress": 0} {
		if got := r.count(kind); got != want {
			t.Errorf("%d objects of kind %s, want %d", got, kind, want)
		}
	}
	sts := one[appsv1.StatefulSet](r, "StatefulSet")
	if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 1 {
		t.Errorf("StatefulSet replicas = %v, want 1", sts.Spec.Replicas)
	}
	if sts.Spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType {
		t.Errorf("updateStrategy = %q, want RollingUpdate (the old pod goes before the new one starts)", sts.Spec.UpdateStrategy.Type)
	}
	if sts.Spec.PodManagementPolicy != appsv1.OrderedReadyPodManagement {
		t.Errorf("podManagementPolicy = %q, want OrderedReady", sts.Spec.PodManagementPolicy)
	}
	// --set replicas is PostgreSQL mode's: SQLite stays at one.
	if r3 := render(t, sqliteValues, "replicas=3"); *one[appsv1.StatefulSet](r3, "StatefulSet").Spec.Replicas != 1 {
		t.Error("replicas=3 changed the SQLite StatefulSet's replicas")
	}

	// The governing Service is headless and exists.
	var headless *corev1.Service
	for _, s := range r.all("Service") {
		if s := s.(*corev1.Service); s.Name == sts.Spec.ServiceName {
			headless = s
		}
	}
	if headless == nil || headless.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("serviceName %q: no headless Service of that name (%v)", sts.Spec.ServiceName, headless)
	}

	if n := len(sts.Spec.VolumeClaimTemplates); n != 1 {
		t.Fatalf("%d volume claim templates, want 1", n)
	}
	pvc := sts.Spec.VolumeClaimTemplates[0]
	if pvc.Name != "data" || !slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) {
		t.Errorf("volume claim template %q %v, want data [ReadWriteOnce]", pvc.Name, pvc.Spec.AccessModes)
	}
	if got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; got.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("volume size %s, want 1Gi", got.String())
	}
	big := one[appsv1.StatefulSet](render(t, sqliteValues, "storage.sqlite.size=20Gi", "storage.sqlite.storageClassName=fast"), "StatefulSet").Spec.VolumeClaimTemplates[0]
	if size := big.Spec.Resources.Requests[corev1.ResourceStorage]; size.Cmp(resource.MustParse("20Gi")) != 0 || big.Spec.StorageClassName == nil || *big.Spec.StorageClassName != "fast" {
		t.Errorf("storage.sqlite.size=20Gi, storageClassName=fast: got %s, %v", size.String(), big.Spec.StorageClassName)
	}
	for _, v := range r.pod().Spec.Volumes {
		if v.Name == "data" {
			t.Errorf("the pod has a volume data (%+v): it must be the claim template's", v.VolumeSource)
		}
	}
	if got := mountPath(r.container("warroom"), "data"); got != "/data" {
		t.Errorf("data is mounted on %q, want /data", got)
	}

	c := r.config()
	if c.Storage.Driver != "sqlite" || c.Storage.DSN != "/data/warroom.db" {
		t.Errorf("storage %s %q, want sqlite /data/warroom.db (on the volume)", c.Storage.Driver, c.Storage.DSN)
	}
	if c.DryRunLog != "/data/warroom-dryrun.jsonl" {
		t.Errorf("dry_run_log %q, want it on /data (the root filesystem is read-only)", c.DryRunLog)
	}
	if c.Listen != ":9095" {
		t.Errorf("listen %q, want :9095 (every interface: the webhook token guards it)", c.Listen)
	}
}

func TestPostgresMode(t *testing.T) {
	r := render(t, postgresValue)

	for kind, want := range map[string]int{"StatefulSet": 0, "Deployment": 1, "PodDisruptionBudget": 1, "Service": 1, "Secret": 0, "ConfigMap": 1} {
		if got := r.count(kind); got != want {
			t.Errorf("%d objects of kind %s, want %d", got, kind, want)
		}
	}
	d := one[appsv1.Deployment](r, "Deployment")
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("Deployment replicas = %v, want 2", d.Spec.Replicas)
	}
	if ru := d.Spec.Strategy.RollingUpdate; d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("strategy %+v, want a rolling update with maxUnavailable 0", d.Spec.Strategy)
	}
	if r3 := render(t, postgresValue, "replicas=3"); *one[appsv1.Deployment](r3, "Deployment").Spec.Replicas != 3 {
		t.Error("replicas=3 did not give 3 replicas")
	}

	pdb := one[policyv1.PodDisruptionBudget](r, "PodDisruptionBudget")
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget minAvailable %v, want 1", pdb.Spec.MinAvailable)
	}
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || sel.Empty() {
		t.Fatalf("PodDisruptionBudget selector %v: %v", pdb.Spec.Selector, err)
	}
	if !selects(sel, d.Spec.Template.Labels) {
		t.Errorf("the PodDisruptionBudget's selector %s does not select the pods %v", sel, d.Spec.Template.Labels)
	}

	// The migrations run before warroom, in an init container of the same
	// image, configuration and credentials.
	spec := d.Spec.Template.Spec
	if len(spec.InitContainers) != 1 {
		t.Fatalf("%d init containers, want the migration", len(spec.InitContainers))
	}
	migrate, warroom := &spec.InitContainers[0], r.container("warroom")
	if want := []string{"migrate", "--config", configPath}; !slices.Equal(migrate.Args, want) {
		t.Errorf("init container args %q, want %q", migrate.Args, want)
	}
	if migrate.Image != warroom.Image {
		t.Errorf("init container image %q, want warroom's %q", migrate.Image, warroom.Image)
	}
	if want := []string{"serve", "--config", configPath}; !slices.Equal(warroom.Args, want) {
		t.Errorf("warroom args %q, want %q", warroom.Args, want)
	}
	for _, c := range []*corev1.Container{migrate, warroom} {
		pw := env(c, "PGPASSWORD")
		if pw == nil || pw.ValueFrom == nil || pw.ValueFrom.SecretKeyRef == nil ||
			pw.ValueFrom.SecretKeyRef.Name != "warroom-postgres" || pw.ValueFrom.SecretKeyRef.Key != "password" {
			t.Errorf("%s: PGPASSWORD %+v, want from Secret warroom-postgres key password", c.Name, pw)
		}
		if got := mountPath(c, "config"); got != filepath.Dir(configPath) {
			t.Errorf("%s: config mounted on %q, want %s", c.Name, got, filepath.Dir(configPath))
		}
	}
	if r := render(t, postgresValue, "storage.postgres.migrateInitContainer=false"); len(r.pod().Spec.InitContainers) != 0 {
		t.Error("migrateInitContainer=false still renders an init container")
	}

	// The existing Secret is mounted; the chart makes none, and its
	// checksum annotation would have nothing to follow.
	var secretVolume *corev1.SecretVolumeSource
	for _, v := range spec.Volumes {
		if v.Name == "secrets" {
			secretVolume = v.Secret
		}
	}
	if secretVolume == nil || secretVolume.SecretName != "warroom-secrets" {
		t.Fatalf("secrets volume %+v, want the existing Secret warroom-secrets", secretVolume)
	}
	// Readable by the pod's group (fsGroup), by nobody else.
	if m := secretVolume.DefaultMode; m == nil || *m != 0o440 {
		t.Errorf("secret files' mode %v, want 0440", m)
	}
	if _, ok := d.Spec.Template.Annotations["checksum/secret"]; ok {
		t.Error("checksum/secret with an existing Secret: it would not follow that Secret")
	}

	c := r.config()
	if c.Storage.Driver != "postgres" || c.Storage.DSN != "postgres://warroom@postgres.db.svc:5432/warroom?sslmode=require" {
		t.Errorf("storage %s %q, want postgres and the values' DSN", c.Storage.Driver, c.Storage.DSN)
	}
	if r := render(t, postgresValue, "podDisruptionBudget.enabled=false"); r.count("PodDisruptionBudget") != 0 {
		t.Error("podDisruptionBudget.enabled=false still renders one")
	}
}

func selects(sel labels.Selector, objLabels map[string]string) bool {
	return sel.Matches(labels.Set(objLabels))
}

// TestPodIsRestricted checks both modes against the restricted Pod Security
// Standard: non-root, no privilege escalation, no capabilities, the
// runtime's seccomp profile, and a read-only root with volumes where
// warroom writes.
func TestPodIsRestricted(t *testing.T) {
	for _, values := range []string{sqliteValues, postgresValue} {
		t.Run(filepath.Base(values), func(t *testing.T) {
			r := render(t, values)
			pod := r.pod().Spec
			psc := pod.SecurityContext
			if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 ||
				psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("pod securityContext %+v, want runAsNonRoot, a non-zero runAsUser, seccomp RuntimeDefault", psc)
			}
			if psc != nil && (psc.FSGroup == nil || *psc.FSGroup != *psc.RunAsUser) {
				t.Errorf("fsGroup %v, want the user's group, so that the volume is writable", psc.FSGroup)
			}
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Error("the pod mounts a service account token; warroom never calls the Kubernetes API")
			}
			containers := append(slices.Clone(pod.InitContainers), pod.Containers...)
			for _, c := range containers {
				sc := c.SecurityContext
				switch {
				case sc == nil:
					t.Errorf("%s: no securityContext", c.Name)
					continue
				case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
					t.Errorf("%s: runAsNonRoot not set", c.Name)
				case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
					t.Errorf("%s: the root filesystem is writable", c.Name)
				case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
					t.Errorf("%s: allowPrivilegeEscalation is not false", c.Name)
				case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
					t.Errorf("%s: capabilities %+v, want drop [ALL], add none", c.Name, sc.Capabilities)
				case sc.Privileged != nil && *sc.Privileged:
					t.Errorf("%s: privileged", c.Name)
				case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
					t.Errorf("%s: seccomp %+v, want RuntimeDefault", c.Name, sc.SeccompProfile)
				}
				// Where warroom writes: the database, the dry-run log,
				// SQLite's temporary files.
				for _, dir := range []string{"/data", "/tmp"} {
					if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == dir && !m.ReadOnly }) {
						t.Errorf("%s: no writable volume on %s (the root filesystem is read-only)", c.Name, dir)
					}
				}
			}
		})
	}
}

func TestProbes(t *testing.T) {
	r := render(t, sqliteValues)
	c := r.container("warroom")
	httpPort := int32(0)
	for _, p := range c.Ports {
		if p.Name == "http" {
			httpPort = p.ContainerPort
		}
	}
	if want := ":" + fmt.Sprint(httpPort); r.config().Listen != want {
		t.Errorf("port http %d is not the config's listen %q", httpPort, r.config().Listen)
	}
	for name, tc := range map[string]struct {
		probe *corev1.Probe
		path  string
	}{
		"liveness":  {c.LivenessProbe, "/healthz"},
		"readiness": {c.ReadinessProbe, "/readyz"},
		"startup":   {c.StartupProbe, "/healthz"},
	} {
		if tc.probe == nil || tc.probe.HTTPGet == nil {
			t.Errorf("%s probe %+v, want an HTTP GET", name, tc.probe)
			continue
		}
		if g := tc.probe.HTTPGet; g.Path != tc.path || g.Port.String() != "http" {
			t.Errorf("%s probe GET %s on port %s, want %s on http", name, g.Path, g.Port.String(), tc.path)
		}
	}
}

// TestGOMEMLIMIT: the Go runtime's soft limit follows the container's
// memory limit, below it.
func TestGOMEMLIMIT(t *testing.T) {
	r := render(t, sqliteValues, "resources.limits.memory=512Mi")
	c := r.container("warroom")
	limit := env(c, "WARROOM_MEMORY_LIMIT_MIB")
	if limit == nil || limit.ValueFrom == nil || limit.ValueFrom.ResourceFieldRef == nil {
		t.Fatalf("WARROOM_MEMORY_LIMIT_MIB %+v, want a resourceFieldRef", limit)
	}
	ref := limit.ValueFrom.ResourceFieldRef
	if ref.Resource != "limits.memory" || ref.ContainerName != "warroom" || ref.Divisor.Cmp(resource.MustParse("1Mi")) != 0 {
		t.Errorf("resourceFieldRef %+v, want warroom's limits.memory in 1Mi", ref)
	}
	gml := env(c, "GOMEMLIMIT")
	if gml == nil {
		t.Fatal("no GOMEMLIMIT")
	}
	// Kubernetes expands $(VAR) only for a variable defined before.
	if slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "GOMEMLIMIT" }) <
		slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "WARROOM_MEMORY_LIMIT_MIB" }) {
		t.Error("GOMEMLIMIT comes before WARROOM_MEMORY_LIMIT_MIB: $(…) would not expand")
	}
	// What the kubelet gives for 512Mi, then what Go reads.
	lim := resource.MustParse("512Mi")
	mib := lim.Value() / ref.Divisor.Value()
	value := strings.ReplaceAll(gml.Value, "$(WARROOM_MEMORY_LIMIT_MIB)", fmt.Sprint(mib))
	var bytes int64
	if _, err := fmt.Sscanf(value, "%d", &bytes); err != nil || fmt.Sprint(bytes) != value {
		t.Fatalf("GOMEMLIMIT %q expands to %q, not a number of bytes", gml.Value, value)
	}
	if ratio := float64(bytes) / float64(lim.Value()); ratio < 0.9 || ratio >= 0.96 {
		t.Errorf("GOMEMLIMIT is %.3f of the limit, want 0.90-0.96 (below the hard limit, with room for what Go does not count)", ratio)
	}
	if c := render(t, sqliteValues, "goMemLimit=400MiB").container("warroom"); env(c, "GOMEMLIMIT") == nil || env(c, "GOMEMLIMIT").Value != "400MiB" || env(c, "WARROOM_MEMORY_LIMIT_MIB") != nil {
		t.Errorf("goMemLimit=400MiB: env %+v, want GOMEMLIMIT=400MiB alone", c.Env)
	}
	if c := render(t, sqliteValues, "resources.limits=null").container("warroom"); env(c, "GOMEMLIMIT") != nil {
		t.Errorf("no memory limit, yet GOMEMLIMIT %+v (warroom has its own default)", env(c, "GOMEMLIMIT"))
	}
}

// TestChecksumFollowsConfig: a change of the configuration, or of the
// chart's Secret, changes the pod template and so rolls the pods.
func TestChecksumFollowsConfig(t *testing.T) {
	annotations := func(values string, sets ...string) map[string]string {
		return render(t, values, sets...).pod().Annotations
	}
	base := annotations(sqliteValues)
	if base["checksum/config"] == "" || base["checksum/secret"] == "" {
		t.Fatalf("annotations %v, want checksum/config and checksum/secret", base)
	}
	if again := annotations(sqliteValues); again["checksum/config"] != base["checksum/config"] || again["checksum/secret"] != base["checksum/secret"] {
		t.Errorf("the same values give other checksums: %v, then %v", base, again)
	}
	cfg := annotations(sqliteValues, "config.reopen_window=2h")
	if cfg["checksum/config"] == base["checksum/config"] {
		t.Error("config.reopen_window=2h left checksum/config as it was")
	}
	if cfg["checksum/secret"] != base["checksum/secret"] {
		t.Error("a config change changed checksum/secret")
	}
	sec := annotations(sqliteValues, "secrets.webhook-token=another")
	if sec["checksum/secret"] == base["checksum/secret"] {
		t.Error("a new webhook token left checksum/secret as it was")
	}
	pg := annotations(postgresValue)
	if pg2 := annotations(postgresValue, "config.reopen_window=2h"); pg2["checksum/config"] == pg["checksum/config"] {
		t.Error("postgres mode: config.reopen_window=2h left checksum/config as it was")
	}
}

// TestConfigFromValues: the values' config reaches warroom.yaml, deep-merged
// with the keys the chart decides, which the values cannot override.
func TestConfigFromValues(t *testing.T) {
	r := render(t, sqliteValues,
		"config.reopen_window=2h",
		"config.storage.timeout=9s",
		"config.storage.driver=postgres",
		"config.listen=0.0.0.0:1234",
		"config.slack.bot_token_file="+secretsDir+"/slack-bot-token",
		"secrets.slack-bot-token=xoxb-test")
	c := r.config()
	if time.Duration(c.ReopenWindow) != 2*time.Hour {
		t.Errorf("reopen_window %v, want 2h", c.ReopenWindow)
	}
	if time.Duration(c.Storage.Timeout) != 9*time.Second {
		t.Errorf("storage.timeout %v, want 9s (merged with the chart's storage keys)", c.Storage.Timeout)
	}
	if c.Storage.Driver != "sqlite" || c.Listen != ":9095" {
		t.Errorf("storage.driver %q, listen %q: the values overrode the chart's sqlite and :9095", c.Storage.Driver, c.Listen)
	}
	// Every secret file the config names is a key of the Secret, mounted
	// where the config looks.
	sec := one[corev1.Secret](r, "Secret")
	if got := mountPath(r.container("warroom"), "secrets"); got != secretsDir {
		t.Errorf("secrets mounted on %q, want %s", got, secretsDir)
	}
	for key, file := range map[string]string{"webhook.bearer_token_file": c.Webhook.BearerTokenFile, "slack.bot_token_file": c.Slack.BotTokenFile} {
		name, ok := strings.CutPrefix(file, secretsDir+"/")
		if !ok {
			t.Errorf("%s %q is not in %s", key, file, secretsDir)
			continue
		}
		if _, ok := sec.Data[name]; !ok {
			t.Errorf("%s names %s, which the Secret lacks (keys: %v)", key, name, mapsKeys(sec.Data))
		}
	}
	if got := string(sec.Data["slack-bot-token"]); got != "xoxb-test" {
		t.Errorf("Secret slack-bot-token %q, want xoxb-test", got)
	}
	// The secrets never reach the ConfigMap.
	if strings.Contains(r.configFile(), "xoxb-test") || strings.Contains(r.configFile(), "lint-webhook-token") {
		t.Errorf("a secret is in the ConfigMap:\n%s", r.configFile())
	}
}

func mapsKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// With ingress.incidentPage the Ingress routes /incidents too, to the
// same public listener, which serves the signed incident page there.
func TestIngressExposesTheIncidentPage(t *testing.T) {
	r := render(t, sqliteValues, "publicListen=9096", "ingress.enabled=true", "ingress.incidentPage=true")
	paths := one[networkingv1.Ingress](r, "Ingress").Spec.Rules[0].HTTP.Paths
	if len(paths) != 2 || paths[0].Path != "/slack/" || paths[1].Path != "/incidents" ||
		paths[1].PathType == nil || *paths[1].PathType != networkingv1.PathTypePrefix ||
		paths[1].Backend.Service == nil || paths[1].Backend.Service.Port.Name != "public" {
		t.Errorf("Ingress paths %+v, want /slack/ and Prefix /incidents, both to the public port", paths)
	}
}

// TestIngressExposesOnlySlack: the Ingress routes /slack/ to the public
// listener, which serves Slack's endpoints and nothing else.
func TestIngressExposesOnlySlack(t *testing.T) {
	r := render(t, sqliteValues, "publicListen=9096", "ingress.enabled=true", "ingress.host=warroom.example.org", "ingress.className=nginx", "networkPolicy.enabled=true")
	ing := one[networkingv1.Ingress](r, "Ingress")
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != "warroom.example.org" || ing.Spec.Rules[0].HTTP == nil {
		t.Fatalf("Ingress rules %+v, want one for warroom.example.org", ing.Spec.Rules)
	}
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
		t.Errorf("ingressClassName %v, want nginx", ing.Spec.IngressClassName)
	}
	paths := ing.Spec.Rules[0].HTTP.Paths
	if len(paths) != 1 {
		t.Fatalf("Ingress paths %+v, want /slack/ only", paths)
	}
	p := paths[0]
	if p.Path != "/slack/" || p.PathType == nil || *p.PathType != networkingv1.PathTypePrefix {
		t.Errorf("Ingress path %q %v, want Prefix /slack/", p.Path, p.PathType)
	}
	if b := p.Backend.Service; b == nil || b.Port.Name != "public" || b.Name != "r-warroom" {
		t.Errorf("Ingress backend %+v, want the Service r-warroom, port public", p.Backend)
	}
	var main *corev1.Service
	for _, s := range r.all("Service") {
		if s.(*corev1.Service).Name == "r-warroom" {
			main = s.(*corev1.Service)
		}
	}
	if main == nil || !slices.ContainsFunc(main.Spec.Ports, func(sp corev1.ServicePort) bool {
		return sp.Name == "public" && sp.Port == 9096 && sp.TargetPort.String() == "public"
	}) {
		t.Errorf("Service r-warroom %+v, want port public 9096 to the container's public", main)
	}
	if !slices.ContainsFunc(r.container("warroom").Ports, func(cp corev1.ContainerPort) bool { return cp.Name == "public" && cp.ContainerPort == 9096 }) {
		t.Errorf("container ports %+v, want public 9096", r.container("warroom").Ports)
	}
	// public_listen is the other listener's key; read the file as YAML.
	var file map[string]any
	if err := yaml.Unmarshal([]byte(r.configFile()), &file); err != nil {
		t.Fatal(err)
	}
	if file["public_listen"] != ":9096" {
		t.Errorf("public_listen %v, want :9096", file["public_listen"])
	}
	np := one[networkingv1.NetworkPolicy](r, "NetworkPolicy")
	var ports []string
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			ports = append(ports, p.Port.String())
		}
	}
	if slices.Sort(ports); !slices.Equal(ports, []string{"http", "public"}) {
		t.Errorf("NetworkPolicy admits ports %v, want http and public", ports)
	}

	// Without publicListen there is no public port, and nothing to route to.
	plain := render(t, sqliteValues)
	if _, ok := mapFromYAML(t, plain.configFile())["public_listen"]; ok {
		t.Error("public_listen without publicListen")
	}
	for _, s := range plain.all("Service") {
		for _, p := range s.(*corev1.Service).Spec.Ports {
			if p.Name == "public" {
				t.Errorf("Service %s has a public port without publicListen", s.(*corev1.Service).Name)
			}
		}
	}
}

func mapFromYAML(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMonitoring(t *testing.T) {
	extra := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(extra, []byte(`prometheusRule:
  enabled: true
  additionalLabels: {release: kube-prometheus-stack}
  additionalGroups:
    - name: warroom-extra
      rules:
        - alert: WarroomDown
          expr: up{job="warroom"} == 0
          for: 5m
          labels: {severity: page}
          annotations: {summary: warroom is down}
serviceMonitor:
  enabled: true
  additionalLabels: {release: kube-prometheus-stack}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := helm(t, "template", "r", chart, "-f", postgresValue, "-f", extra)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decode(out)
	if err != nil {
		t.Fatal(err)
	}
	r := rendered{t: t, objs: objs}

	sm := one[monitoringv1.ServiceMonitor](r, "ServiceMonitor")
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http" || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %+v, want port http, /metrics", sm.Spec.Endpoints)
	}
	svc := one[corev1.Service](r, "Service")
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil || sel.Empty() || !selects(sel, svc.Labels) {
		t.Errorf("the ServiceMonitor's selector %v does not select the Service's labels %v (%v)", sm.Spec.Selector, svc.Labels, err)
	}
	if sm.Labels["release"] != "kube-prometheus-stack" {
		t.Errorf("ServiceMonitor labels %v, want additionalLabels", sm.Labels)
	}

	pr := one[monitoringv1.PrometheusRule](r, "PrometheusRule")
	var names []string
	for _, g := range pr.Spec.Groups {
		names = append(names, g.Name)
	}
	if !slices.Contains(names, "warroom-extra") {
		t.Errorf("PrometheusRule groups %v, want warroom-extra appended", names)
	}
	want := chartRuleGroups(t)
	if got := len(pr.Spec.Groups) - 1; got != len(want) {
		t.Errorf("PrometheusRule has %d groups from the chart's rules file, want %d (%v)", got, len(want), names)
	}
	for _, g := range want {
		if !slices.Contains(names, g) {
			t.Errorf("PrometheusRule lacks the group %s of files/warroom-rules.yml", g)
		}
	}

	// Without additional groups, the PrometheusRule is the chart's rules,
	// and without them there is nothing to render.
	out, err = template(t, sqliteValues, "prometheusRule.enabled=true")
	if len(want) == 0 {
		if err == nil || !strings.Contains(err.Error(), "prometheusRule.enabled, but there are no rules") {
			t.Errorf("prometheusRule.enabled without any rules: %v, want the render to say there are none", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if objs, err = decode(out); err != nil {
		t.Fatal(err)
	}
	if got := len(one[monitoringv1.PrometheusRule](rendered{t: t, objs: objs}, "PrometheusRule").Spec.Groups); got != len(want) {
		t.Errorf("PrometheusRule has %d groups, want the chart's %d", got, len(want))
	}
}

// chartRuleGroups are the group names of the chart's copy of the rules,
// none when there is no copy.
func chartRuleGroups(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("warroom/files/warroom-rules.yml")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var f monitoringv1.PrometheusRuleSpec
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		t.Fatalf("warroom/files/warroom-rules.yml is not a rules file the Prometheus Operator takes: %v", err)
	}
	var names []string
	for _, g := range f.Groups {
		names = append(names, g.Name)
	}
	return names
}

// TestRulesAreTheProjectRules: the chart keeps a copy of warroom's own
// alerting rules (Helm reads only files inside the chart); it must not
// drift from deploy/prometheus/warroom-rules.yml.
func TestRulesAreTheProjectRules(t *testing.T) {
	const source, copied = "../prometheus/warroom-rules.yml", "warroom/files/warroom-rules.yml"
	want, srcErr := os.ReadFile(source)
	got, copyErr := os.ReadFile(copied)
	switch {
	case errors.Is(srcErr, os.ErrNotExist) && errors.Is(copyErr, os.ErrNotExist):
		t.Logf("no deploy/prometheus/warroom-rules.yml yet, and no copy in the chart")
	case srcErr != nil:
		t.Fatalf("the chart has %s, but its source: %v", copied, srcErr)
	case copyErr != nil:
		t.Fatalf("the chart has no copy of deploy/prometheus/warroom-rules.yml (%v): cp deploy/prometheus/warroom-rules.yml deploy/helm/warroom/files/", copyErr)
	case !bytes.Equal(got, want):
		t.Fatalf("deploy/helm/warroom/files/warroom-rules.yml differs from deploy/prometheus/warroom-rules.yml: cp deploy/prometheus/warroom-rules.yml deploy/helm/warroom/files/")
	}
}

// TestRefusals: values that cannot make a working warroom fail the render
// with what to set.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values string
		sets   []string
		want   string
	}{
		{"no secrets", "", nil, "set secrets (file name: value, at least webhook-token) or existingSecret"},
		{"postgres without a DSN", sqliteValues, []string{"storage.driver=postgres"}, "storage.postgres.dsn is required"},
		{"a password in the DSN", postgresValue, []string{"storage.postgres.dsn=postgres://warroom:hunter2@db:5432/warroom"}, "storage.postgres.dsn holds a password"},
		{"an unknown driver", sqliteValues, []string{"storage.driver=mysql"}, `storage.driver: "mysql" is not sqlite or postgres`},
		{"an Ingress without the public listener", sqliteValues, []string{"ingress.enabled=true"}, "ingress.enabled needs publicListen"},
		{"the public listener on the main port", sqliteValues, []string{"publicListen=9095"}, "publicListen must differ from service.port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := template(t, tc.values, tc.sets...)
			if err == nil {
				t.Fatalf("rendered without an error:\n%s", out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// TestREADMEInstall renders the chart as the README's "Run it in
// Kubernetes" installs it, in both modes, with its values file.
func TestREADMEInstall(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```yaml\n(# warroom-values.yaml\n.*?)```").FindSubmatch(readme)
	if block == nil {
		t.Fatal("README.md has no ```yaml block starting with # warroom-values.yaml")
	}
	values := filepath.Join(t.TempDir(), "warroom-values.yaml")
	if err := os.WriteFile(values, block[1], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, sets := range [][]string{
		nil,
		{"storage.driver=postgres", "storage.postgres.dsn=postgres://warroom@postgres.db:5432/warroom?sslmode=require", "storage.postgres.passwordSecret.name=warroom-postgres"},
	} {
		r := render(t, values, sets...)
		c := r.config()
		if c.Slack.BotTokenFile != secretsDir+"/slack-bot-token" || c.Jira.URL == "" {
			t.Errorf("%v: the README's config did not arrive: slack.bot_token_file %q, jira.url %q", sets, c.Slack.BotTokenFile, c.Jira.URL)
		}
		if img := r.container("warroom").Image; img != "registry.example.com/warroom:v0.1.0" {
			t.Errorf("%v: image %q, want the README's registry.example.com/warroom:v0.1.0", sets, img)
		}
	}
}
