import { describe, expect, it } from 'vitest';
import { type DeploymentTemplateValues, renderTemplate } from './template.js';

const values: DeploymentTemplateValues = {
  name: 'web',
  image: 'registry:5000/labbot/x:abc',
  replicas: 2,
  labels: { app: 'web', 'labbot.dev/lab': 'abc' },
  selectorLabels: { app: 'web' },
  lessonId: 'x',
};

const template = (name: string, labels: string, replicas: string, image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {{selectorLabels}}
  template:
    metadata:
      labels: ${labels}
    spec:
      containers:
        - name: c
          image: ${image}
          env:
            - name: LESSON
              value: "lesson-{{lessonId}}"
`;

describe('renderTemplate', () => {
  it.each([
    ['plain', template('{{name}}', '{{labels}}', '{{replicas}}', '{{image}}')],
    ['spaced', template('{{ name }}', '{{ labels }}', '{{ replicas }}', '{{ image }}')],
    ['quoted', template('"{{name}}"', "'{{labels}}'", '"{{replicas}}"', '"{{image}}"')],
    ['as a YAML formatter leaves it', template('{ { name } }', '{ { labels } }', '{ { replicas } }', '{ { image } }')],
  ])('fills the %s form with typed values', (_form, text) => {
    const result = renderTemplate(text, values);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.manifest.metadata.name).toBe('web');
    expect(result.manifest.spec.replicas).toBe(2);
    expect(result.manifest.spec.template.metadata.labels).toEqual(values.labels);
    expect(result.manifest.spec.template.spec.containers[0]).toMatchObject({
      image: values.image,
      env: [{ name: 'LESSON', value: 'lesson-x' }],
    });
    expect(result.yaml).toContain('image: registry:5000/labbot/x:abc');
  });

  it('refuses a mapping placeholder inside a text, a namespace, and a selector that misses the pods', () => {
    const text = template('{{name}}', '{ app: other }', '{{replicas}}', '"img-{{labels}}"').replace(
      'metadata:\n  name',
      'metadata:\n  namespace: kube-system\n  name',
    );
    const result = renderTemplate(text, values);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problems).toEqual([
        {
          field: 'spec.template.spec.containers[0].image',
          message: '{{labels}} must be the whole value, not part of a text',
        },
      ]);
    }
    const second = renderTemplate(
      template('{{name}}', '{ app: other }', '{{replicas}}', '{{image}}').replace(
        'metadata:\n  name',
        'metadata:\n  namespace: kube-system\n  name',
      ),
      values,
    );
    expect(second.ok).toBe(false);
    if (!second.ok) {
      expect(second.problems.map((p) => `${p.field}: ${p.message}`)).toEqual([
        'metadata.namespace: must not be set (labbot puts it in the lab namespace)',
        'spec.selector.matchLabels: selects app=web but the pod template has no such label (use {{selectorLabels}} and {{labels}})',
        'spec.template.metadata.labels: must include app=web (use {{labels}})',
        'spec.template.metadata.labels: must include labbot.dev/lab=abc (use {{labels}})',
      ]);
    }
  });

  it('says what is missing when the template is not a Deployment', () => {
    const result = renderTemplate('apiVersion: v1\nkind: Pod\nmetadata:\n  name: "{{name}}"\n', values);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problems.map((p) => p.field)).toEqual(['apiVersion', 'kind', 'spec']);
      expect(result.problems[2]?.message).toBe('is missing');
    }
  });
});
