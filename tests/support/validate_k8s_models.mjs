// Validates Kubernetes objects (a JSON list on stdin) against their kinds'
// schemas from @kubernetes-models (tests/support/prometheus_operator.py);
// prints a JSON list of the errors, one string per refused object.
import { PodMonitor, PrometheusRule, ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { ConfigMap, Secret } from "kubernetes-models/v1";

const kinds = { PodMonitor, PrometheusRule, ServiceMonitor, ConfigMap, Secret };
let input = "";
for await (const chunk of process.stdin) input += chunk;
const errors = [];
for (const object of JSON.parse(input)) {
  const Model = kinds[object.kind];
  const name = `${object.kind}/${object.metadata?.name}`;
  if (!Model) {
    errors.push(`${name}: no schema for this kind`);
    continue;
  }
  try {
    new Model(object).validate();
  } catch (error) {
    errors.push(`${name}: ${error.message}`);
  }
}
process.stdout.write(JSON.stringify(errors));
